import { constants } from 'node:os';

/** How the main child ended, as Node reports it. */
export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

/** The init's exit status for a child exit: its code, or 128+N for death by signal N, as a shell does. */
export function exitCodeOf(exit: ChildExit): number {
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.code ?? 0;
}

/** The shell's status for a command that could not be executed: 127 not found, 126 not executable. */
export function exitCodeForSpawnError(errorCode: string | undefined): 126 | 127 {
  return errorCode === 'ENOENT' || errorCode === 'ENOTDIR' ? 127 : 126;
}

/**
 * The status the init exits with: 0 for a status the operator listed (tini's -e: a Java or
 * Node service that exits 143 on a clean TERM), the child's own otherwise. Applies to 128+N
 * for a death by signal N too, as in tini.
 */
export function remapExitCode(exitCode: number, remapped: readonly number[]): number {
  return remapped.includes(exitCode) ? 0 : exitCode;
}
