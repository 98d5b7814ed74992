import { spawn } from 'node:child_process';
import type { ChildExit } from './exit-code.js';

/** The main child. */
export type MainChild = {
  pid: number;
  exited: Promise<ChildExit>;
  /**
   * Whether libuv has not reaped it yet. Turns false in the same callback as libuv's
   * waitpid, before any other JavaScript runs: while true, its pid is not anyone else's.
   */
  isRunning: () => boolean;
};

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
    let running = true;
    const exited = new Promise<ChildExit>((resolveExit) => {
      child.once('exit', (code, signal) => {
        running = false;
        resolveExit({ code, signal });
      });
    });
    child.once('spawn', () => resolve({ pid: child.pid!, exited, isRunning: () => running }));
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
