import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CMDLINE_LIMIT_BYTES } from '../../src/proc/parse-cmdline.js';
import { ProcScanner } from '../../src/proc/read-snapshot.js';
import type { ProcRef } from '../../src/proc/snapshot.js';
import { useFakeRoot } from '../helpers/fake-root.js';
import { killTree, refOfSpawned } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait-for.js';

const started: (ProcRef | undefined)[] = [];
afterEach(() => {
  for (const ref of started.splice(0)) if (ref) killTree(ref);
});

describe('ProcScanner', () => {
  it('keeps only the first 4 KiB of a huge command line', async () => {
    // Eight arguments of 120 KB: any process may choose a command line this long.
    const big = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(120_000));
    const child = spawn('sh', ['-c', 'read x', 'sh', ...big], { stdio: ['pipe', 'ignore', 'ignore'] });
    started.push(refOfSpawned(child));
    const scanner = new ProcScanner();
    const proc = await waitFor(
      () => {
        const seen = scanner.scan().get(child.pid!);
        return seen && seen.argv[0] === 'sh' && seen;
      },
      { what: 'the shell with a huge command line' },
    );
    expect(proc.argv.slice(0, 3)).toEqual(['sh', '-c', 'read x']);
    expect(proc.argv.join('\0').length).toBeLessThanOrEqual(CMDLINE_LIMIT_BYTES);
    expect(proc.argv.at(-1)!).toMatch(/^a+$/);
  });
});

describe('ProcScanner.scanInSlices', () => {
  const fake = useFakeRoot();
  const statLine = (pid: number, ppid: number) =>
    `${pid} (sleep) S ${ppid} ${pid} ${pid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 100 1000 50 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;

  it('reads what a scan in one go reads, and lets the event loop run between slices', async () => {
    const files: Record<string, string> = { '/proc/uptime': '1000.00 900.00\n' };
    for (let pid = 1; pid <= 5; pid += 1) {
      files[`/proc/${pid}/stat`] = statLine(pid, pid === 1 ? 0 : 1);
      files[`/proc/${pid}/cmdline`] = `sleep\0${pid}\0`;
    }
    fake.writeFiles(files);
    // An immediate queued before the scan runs before it ends only if the scan hands the loop back.
    let ended = false;
    let ranMidScan = false;
    setImmediate(() => {
      ranMidScan = !ended;
    });
    const sliced = await new ProcScanner(`${fake.root}/proc`).scanInSlices(2).then((procs) => {
      ended = true;
      return procs;
    });
    expect(ranMidScan).toBe(true);
    expect(sliced).toEqual(new ProcScanner(`${fake.root}/proc`).scan());
    expect([...sliced.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(sliced.get(3)).toMatchObject({ ppid: 1, argv: ['sleep', '3'] });
  });
});
