import { spawn } from 'node:child_process';
import type { ChildExit } from './exit-code.js';

/** The running main child. */
export type MainChild = { pid: number; exited: Promise<ChildExit> };

/** Why the main child could not be started. */
export type SpawnFailure = { errorCode: string | undefined; message: string };

/**
 * Starts the command with inherited stdio, leading its own session and process group
 * (as dumb-init does): `--group` can then signal the group without hitting the init, and
 * a terminal's Ctrl-C reaches the child once, through the init, not twice.
 */
export function spawnChild(command: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<MainChild | SpawnFailure> {
  const [file, ...args] = command;
  return new Promise((resolve) => {
    const child = spawn(file!, args, { stdio: 'inherit', detached: true, env });
    const exited = new Promise<ChildExit>((resolveExit) => {
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    });
    child.once('spawn', () => resolve({ pid: child.pid!, exited }));
    child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' after 'spawn' is a failed kill(), which the init never asks of this object.
      if (child.pid === undefined) resolve({ errorCode: error.code, message: error.message });
    });
  });
}

/** Whether spawnChild failed. */
export function isSpawnFailure(result: MainChild | SpawnFailure): result is SpawnFailure {
  return 'errorCode' in result;
}
