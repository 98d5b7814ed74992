// Runs as PID 1 of its own pid namespace (scan-cost.mjs starts it under unshare --mount-proc),
// so that /proc shows exactly the processes it makes: `count` in all, itself included. Then it
// times the init's own scanner (src/proc, bundled by scan-cost.mjs) cold and cached, and the
// bare system calls of a scan, rounds interleaved, and, when asked, one identity-checked signal against a plain process.kill.
// Prints one JSON object on stdout. Usage: scan-probe.mjs <lib.cjs> <count> <rounds> [signals]
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

const [libPath, countText, roundsText, signalsText] = process.argv.slice(2);
const { ProcScanner, readStat, signalProc, detectProcSource, loadLibc } = createRequire(import.meta.url)(libPath);
const count = Number(countText);
const rounds = Number(roundsText);
const signals = Number(signalsText ?? 0);

const listed = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

// count - 1 sleepers: a shell forks them and exits, so they are reparented to this PID 1.
const made = spawnSync('sh', ['-c', `i=1; while [ $i -lt ${count} ]; do sleep 100000 & i=$((i+1)); done`], { stdio: 'inherit' });
if (made.status !== 0) throw new Error(`could not make ${count - 1} processes`);
// Older than 2 s, every command line is final and the cached scanner keeps it.
await new Promise((done) => setTimeout(done, 2500));

// The kernel's share of a scan, which no change in JavaScript removes: list /proc, then open,
// read and close each /proc/PID/stat, nothing parsed.
const buffer = Buffer.allocUnsafe(4096);
function syscallsOnly() {
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const fd = openSync(`/proc/${name}/stat`, 'r');
      readSync(fd, buffer, 0, buffer.length, null);
      closeSync(fd);
    } catch {
      // Gone.
    }
  }
}

const warm = new ProcScanner();
warm.scan();
const cold = [];
const cached = [];
const floor = [];
for (let i = 0; i < rounds; i += 1) {
  let start = process.hrtime.bigint();
  new ProcScanner().scan();
  cold.push(ms(start));
  start = process.hrtime.bigint();
  warm.scan();
  cached.push(ms(start));
  start = process.hrtime.bigint();
  syscallsOnly();
  floor.push(ms(start));
}

const processes = listed();
let signal;
if (signals > 0) {
  // SIGCONT to a sleeping process does nothing to it.
  const sleeper = spawn('sleep', ['100000'], { stdio: 'ignore' });
  await new Promise((done) => setTimeout(done, 200));
  const ref = { pid: sleeper.pid, startTicks: readStat(sleeper.pid).startTicks };
  // What the init decides at start-up and hands down: this namespace's /proc and libc's pidfds.
  const access = { source: detectProcSource(), pidfds: loadLibc().pidfds };
  signal = { kill: [], signalProc: [] };
  for (let i = 0; i < signals; i += 1) {
    let start = process.hrtime.bigint();
    process.kill(ref.pid, 'SIGCONT');
    signal.kill.push(ms(start) * 1000);
    start = process.hrtime.bigint();
    signalProc(ref, 'SIGCONT', access);
    signal.signalProc.push(ms(start) * 1000);
  }
}

process.stdout.write(`${JSON.stringify({ processes, cold, cached, floor, signalMicros: signal })}\n`);
// PID 1 exits: the kernel ends every process of the namespace.
process.exit(0);
