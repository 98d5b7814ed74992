import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CMDLINE_LIMIT_BYTES } from '../../src/proc/parse-cmdline.js';
import { ProcScanner } from '../../src/proc/read-snapshot.js';
import { killTree, refOf } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait-for.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) killTree(refOf(pid));
});

describe('ProcScanner', () => {
  it('keeps only the first 4 KiB of a huge command line', async () => {
    // Eight arguments of 120 KB: any process may choose a command line this long.
    const big = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(120_000));
    const child = spawn('sh', ['-c', 'read x', 'sh', ...big], { stdio: ['pipe', 'ignore', 'ignore'] });
    started.push(child.pid!);
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
