// Cost of one identity-checked signal (pidfd_open, start-time check, pidfd_send_signal, close)
// against a plain process.kill. SIGCONT to a sleeping process does nothing to it.
import { spawn } from 'node:child_process';
import { afterAll, bench, describe } from 'vitest';
import { readStat } from '../src/proc/read-proc.js';
import { signalProc } from '../src/proc/signal-proc.js';

const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
const ref = { pid: sleeper.pid!, startTicks: readStat(sleeper.pid!)!.startTicks };
afterAll(() => void sleeper.kill('SIGKILL'));

describe('one signal', () => {
  bench('process.kill (no identity check)', () => void process.kill(ref.pid, 'SIGCONT'));
  bench('signalProc (pidfd + start time)', () => void signalProc(ref, 'SIGCONT'));
});
