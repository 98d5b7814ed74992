import { existsSync } from 'node:fs';

/** Whether this system has Linux's /proc: without it (macOS) the guard falls back to `ps`. */
export function hasProcFs(procRoot = '/proc'): boolean {
  return existsSync(`${procRoot}/self/stat`);
}
