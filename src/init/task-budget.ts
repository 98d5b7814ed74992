import { readdirSync, stat } from 'node:fs';

/**
 * Creates the libuv threadpool now, with one thread, so that no thread is ever created
 * later: pids.max counts threads, and Node aborts if the pool starts lazily in a full pids
 * cgroup (docs/facts.md). The pool reads UV_THREADPOOL_SIZE once, when it starts, so the
 * value is set only for that moment and the main child inherits the environment as it was.
 */
export async function startThreadpoolNow(): Promise<void> {
  const before = process.env.UV_THREADPOOL_SIZE;
  process.env.UV_THREADPOOL_SIZE = '1';
  try {
    await new Promise<void>((resolve) => stat('/', () => resolve()));
  } finally {
    if (before === undefined) delete process.env.UV_THREADPOOL_SIZE;
    else process.env.UV_THREADPOOL_SIZE = before;
  }
}

/** The init's own task (thread) count: its share of pids.max; undefined without /proc. */
export function countOwnTasks(): number | undefined {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
}
