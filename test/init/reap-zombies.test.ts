import { describe, expect, it } from 'vitest';
import { reapZombies, reapZombiesWithoutProc } from '../../src/init/reap-zombies.js';
import type { Libc, WaitResult } from '../../src/sys/libc.js';
import { useFakeRoot } from '../helpers/fake-root.js';

const INIT = 1;
const LIBUV_CHILD = 7;

/**
 * The kernel's side of waiting, for the init's children in the order the kernel keeps them:
 * waitid names the first one that has exited, waitpid reaps one by its pid. Counts the calls.
 */
function fakeKernel(children: { pid: number; exited: boolean }[]) {
  const calls = { peek: 0, waitpid: [] as number[] };
  const libc = {
    peekExitedChild() {
      calls.peek += 1;
      return children.find((child) => child.exited)?.pid;
    },
    waitPidNoHang(pid: number): WaitResult {
      calls.waitpid.push(pid);
      const at = children.findIndex((child) => child.pid === pid);
      if (at === -1) return { kind: 'not-a-child' };
      if (!children[at]!.exited) return { kind: 'running' };
      children.splice(at, 1);
      return { kind: 'reaped', status: 0 };
    },
  } as Partial<Libc> as Libc;
  return { libc, calls, children };
}

describe('reapZombies', () => {
  const fake = useFakeRoot();
  /** /proc/1/task/1/children as the kernel would show the given children. */
  const writeChildren = (pids: number[]) => fake.writeFiles({ [`/proc/${INIT}/task/${INIT}/children`]: pids.map((pid) => `${pid} `).join('') });

  it('reaps the zombies the kernel names without listing the children, so the cost follows the zombies', () => {
    const kernel = fakeKernel([{ pid: LIBUV_CHILD, exited: false }, ...Array.from({ length: 100 }, (_, i) => ({ pid: 100 + i, exited: i < 3 }))]);
    // No children file at all: listing them would return the full-scan fallback's empty answer.
    const reaped = reapZombies({ initPid: INIT, libc: kernel.libc, isOwnedByLibuv: (pid) => pid === LIBUV_CHILD, procRoot: `${fake.root}/proc` });
    expect(reaped.map((r) => r.pid)).toEqual([100, 101, 102]);
    expect(kernel.calls.waitpid).toEqual([100, 101, 102]);
  });

  it("never takes libuv's own child, and still reaps the zombies the kernel lists behind it", () => {
    const kernel = fakeKernel([
      { pid: LIBUV_CHILD, exited: true },
      { pid: 20, exited: true },
      { pid: 21, exited: false },
      { pid: 22, exited: true },
    ]);
    writeChildren([LIBUV_CHILD, 20, 21, 22]);
    const reaped = reapZombies({ initPid: INIT, libc: kernel.libc, isOwnedByLibuv: (pid) => pid === LIBUV_CHILD, procRoot: `${fake.root}/proc` });
    expect(reaped.map((r) => r.pid)).toEqual([20, 22]);
    expect(kernel.calls.waitpid).not.toContain(LIBUV_CHILD);
    expect(kernel.children.map((child) => child.pid)).toEqual([LIBUV_CHILD, 21]);
  });

  it('makes one waitid call and nothing else when no child has exited', () => {
    const kernel = fakeKernel([
      { pid: LIBUV_CHILD, exited: false },
      { pid: 30, exited: false },
    ]);
    writeChildren([LIBUV_CHILD, 30]);
    expect(reapZombies({ initPid: INIT, libc: kernel.libc, isOwnedByLibuv: (pid) => pid === LIBUV_CHILD, procRoot: `${fake.root}/proc` })).toEqual([]);
    expect(kernel.calls).toEqual({ peek: 1, waitpid: [] });
  });
});

describe('reapZombiesWithoutProc', () => {
  it("stops at libuv's own child: without /proc nothing else can be found behind it", () => {
    const kernel = fakeKernel([
      { pid: 40, exited: true },
      { pid: LIBUV_CHILD, exited: true },
      { pid: 41, exited: true },
    ]);
    const reaped = reapZombiesWithoutProc({ libc: kernel.libc, isOwnedByLibuv: (pid) => pid === LIBUV_CHILD });
    expect(reaped.map((r) => r.pid)).toEqual([40]);
    expect(kernel.children.map((child) => child.pid)).toEqual([LIBUV_CHILD, 41]);
  });
});
