// Makes a new process take a given free pid, to test that a reused pid is never signalled.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/**
 * Spawns `command` with pid `pid` (which must be free) by setting the pid namespace's last
 * pid just below it (root only). Other processes on the machine fork too, so it tries again
 * when one of them took the pid first; undefined if it never got it.
 */
export function spawnWithPid(pid: number, command: string[], attempts = 50): ChildProcess | undefined {
  for (let i = 0; i < attempts; i++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
  }
  return undefined;
}
