import { procSourceOfThisProcess } from './proc-source.js';

/** Whether this system has Linux's /proc: without it (macOS) the guard falls back to `ps`. */
export function hasProcFs(): boolean {
  return procSourceOfThisProcess().kind !== 'none';
}
