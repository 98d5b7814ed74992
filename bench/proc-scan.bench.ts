// Full /proc scan with 1000 extra processes: a cold scanner (reads every cmdline) against a
// warm one (cmdlines cached per pid, start time and comm), side by side in one run.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { readAllStats } from '../src/proc/read-proc.js';
import { ProcScanner } from '../src/proc/read-snapshot.js';

const children: ChildProcess[] = [];
const warm = new ProcScanner();

beforeAll(async () => {
  for (let i = 0; i < 1000; i += 1) children.push(spawn('sleep', ['600'], { stdio: 'ignore' }));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  warm.scan();
  console.log(`processes in /proc: ${readAllStats().size}`);
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('scan /proc with 1000+ processes', () => {
  bench(
    'cold: stat + cmdline of every process',
    () => {
      new ProcScanner().scan();
    },
    { time: 2000 },
  );

  bench(
    'cached: stat only, cmdlines from the cache',
    () => {
      warm.scan();
    },
    { time: 2000 },
  );

  bench(
    "stat only (the init's shutdown and reaper fallback)",
    () => {
      readAllStats();
    },
    { time: 2000 },
  );
});
