import { existsSync, readlinkSync } from 'node:fs';

/**
 * Where pids can be read from, decided once at start-up and passed down:
 * - own: a /proc of the init's own pid namespace;
 * - foreign: a /proc of another pid namespace (`unshare --pid --fork` without
 *   `--mount-proc`): its pids are not the init's, so none may be signalled or reaped;
 * - none: no /proc at all (a developer's macOS).
 */
export type ProcSource = { kind: 'own'; root: string } | { kind: 'foreign'; root: string; selfPid: number } | { kind: 'none' };

/** Tells which /proc this process has, from what /proc/self points to. */
export function detectProcSource(root = '/proc', pid = process.pid): ProcSource {
  if (!existsSync(`${root}/self/stat`)) return { kind: 'none' };
  let selfPid: number;
  try {
    selfPid = Number(readlinkSync(`${root}/self`));
  } catch {
    return { kind: 'none' };
  }
  return selfPid === pid ? { kind: 'own', root } : { kind: 'foreign', root, selfPid };
}

/** The /proc to read: the source's own, or the usual path where there is none (reads then find nothing). */
export function procRootOf(source: ProcSource): string {
  return source.kind === 'none' ? '/proc' : source.root;
}
