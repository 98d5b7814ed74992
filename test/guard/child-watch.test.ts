import { describe, expect, it } from 'vitest';
import { ChildWatch, QUIET_WATCH_MS, WATCH_MS } from '../../src/guard/loop/child-watch.js';
import { useFakeRoot } from '../helpers/fake-root.js';

const SPAWNER = { pid: 7, startTicks: 100 };
const statLine = (pid: number, ppid: number, startTicks = 500) =>
  `${pid} (npm exec) S ${ppid} ${pid} ${pid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 ${startTicks} 1000 50 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;

describe('ChildWatch', () => {
  const fake = useFakeRoot();
  /** The spawner with two threads; `children` by thread id. */
  const write = (children: Record<number, readonly number[]>, ppidOf: (pid: number) => number = () => SPAWNER.pid) => {
    const files: Record<string, string> = {};
    for (const [tid, pids] of Object.entries(children)) {
      files[`/proc/7/task/${tid}/children`] = pids.map((pid) => `${pid} `).join('');
      for (const pid of pids) files[`/proc/${pid}/stat`] = statLine(pid, ppidOf(pid));
    }
    fake.writeFiles(files);
  };
  const watching = () => {
    const watch = new ChildWatch(`${fake.root}/proc`);
    watch.watch([SPAWNER]);
    return watch;
  };
  const pidsOf = (watch: ChildWatch) => watch.takeSeen(() => true).map((s) => s.pid);

  it("sees each new child once, the main thread's at every poll and the other threads' once a second", () => {
    write({ 7: [20], 8: [30] });
    const watch = watching();
    watch.poll(0);
    expect(pidsOf(watch)).toEqual([20, 30]);
    write({ 7: [20, 21], 8: [30, 31] });
    watch.poll(50);
    expect(pidsOf(watch)).toEqual([21]);
    watch.poll(1000);
    expect(pidsOf(watch)).toEqual([31]);
  });

  it('reads the stat of a child only when it is first listed: 250 children polled 20 times cost 250 stats, not 5000', () => {
    const children = Array.from({ length: 250 }, (_, i) => 100 + i);
    write({ 7: children });
    const watch = watching();
    for (let t = 0; t < 1000; t += 50) watch.poll(t);
    expect(pidsOf(watch)).toHaveLength(250);
    expect(watch.statReads).toBe(250);
    expect(watch.reads).toBe(20);
  });

  it('takes no child whose parent is no longer the spawner: its pid may be another process', () => {
    write({ 7: [20, 21] }, (pid) => (pid === 21 ? 1 : SPAWNER.pid));
    const watch = watching();
    watch.poll(0);
    expect(pidsOf(watch)).toEqual([20]);
  });

  it('forgets a child once it is gone, and sees a later child of the same pid', () => {
    write({ 7: [20] });
    const watch = watching();
    watch.poll(0);
    expect(watch.takeSeen(() => false).map((s) => s.pid)).toEqual([20]);
    // Unlisted at an all-threads poll, then listed again with another start time: a new process.
    write({ 7: [] });
    watch.poll(1000);
    write({ 7: [20] });
    fake.writeFiles({ '/proc/20/stat': statLine(20, SPAWNER.pid, 900) });
    watch.poll(1050);
    expect(watch.takeSeen(() => true).map((s) => [s.pid, s.startTicks])).toEqual([[20, 900]]);
  });

  it("reads no children file while the namespace's last pid has not moved, and still reads every thread once after a fork", () => {
    const lastPid = (pid: number) => fake.writeFiles({ '/proc/loadavg': `0.00 0.01 0.05 1/80 ${pid}\n` });
    write({ 7: [20], 8: [30] });
    lastPid(30);
    const watch = watching();
    watch.poll(0);
    expect(pidsOf(watch)).toEqual([20, 30]);
    const reads = watch.reads;
    for (let t = 50; t <= 450; t += 50) watch.poll(t);
    expect(watch.reads).toBe(reads);
    // Thread 8 forks 31 at 0.48 s: the main thread's file is read at once, and every thread's
    // once the second since the last such read is up, though nothing was forked since.
    write({ 7: [20], 8: [30, 31] });
    lastPid(31);
    watch.poll(500);
    expect(watch.reads).toBe(reads + 1);
    for (let t = 550; t < 1000; t += 50) watch.poll(t);
    expect(watch.reads).toBe(reads + 1);
    expect(pidsOf(watch)).toEqual([]);
    watch.poll(1000);
    expect(pidsOf(watch)).toEqual([31]);
    // Listed without the last pid moving cannot be: such a file is not read again.
    write({ 7: [20, 40], 8: [30, 31] });
    for (let t = 1050; t <= 3000; t += 50) watch.poll(t);
    expect(pidsOf(watch)).toEqual([]);
  });

  it('looks every 50 ms within 5 s of a fork and every 80 ms once the namespace is quiet', () => {
    fake.writeFiles({ '/proc/loadavg': '0.00 0.01 0.05 1/80 30\n' });
    write({ 7: [20] });
    const watch = watching();
    watch.poll(0);
    expect(watch.nextPollMs(0)).toBe(WATCH_MS);
    for (let t = 80; t < 5000; t += 80) watch.poll(t);
    expect(watch.nextPollMs(4990)).toBe(WATCH_MS);
    watch.poll(5040);
    expect(watch.nextPollMs(5040)).toBe(QUIET_WATCH_MS);
    fake.writeFiles({ '/proc/loadavg': '0.00 0.01 0.05 1/81 31\n' });
    watch.poll(5120);
    expect(watch.nextPollMs(5120)).toBe(WATCH_MS);
    watch.close();
  });
});
