// Side by side, in one run, as real PID 1 (unshare --pid): metamcp-init, tini and dumb-init.
// Measures idle RSS and task count, time to reap 2000 orphans, and time from TERM to exit
// for a child that exits on TERM. Medians of several runs; ratios against tini.
// Usage (root): node bench/init-vs-tini.mjs [runs]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const runs = Number(process.argv[2] ?? 5);
const node = process.execPath;
const INITS = {
  'metamcp-init': [node, 'dist/metamcp-init.cjs', '--log-level', 'warn', '--'],
  tini: ['tini', '-s', '--'],
  'dumb-init': ['dumb-init', '--'],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function childOf(pid) {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? Number(text.split(' ')[0]) : undefined;
}

async function startAsPid1(init, command) {
  const proc = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...init, ...command], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (chunk) => (out += chunk));
  const closed = new Promise((resolve) => proc.on('close', resolve));
  let pid = childOf(proc.pid);
  while (!pid) {
    await sleep(5);
    pid = childOf(proc.pid);
  }
  return { proc, pid, closed, out: () => out };
}

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(text)[1]), tasks: Number(/Threads:\s+(\d+)/.exec(text)[1]) };
}

async function idle(init) {
  const run = await startAsPid1(init, ['sleep', '1000']);
  await sleep(1000);
  const figures = status(run.pid);
  process.kill(run.pid, 'SIGKILL');
  await run.closed;
  return figures;
}

async function reap2000(init) {
  const run = await startAsPid1(init, [node, 'test/fixtures/kill-orphans.js', '2000']);
  await run.closed;
  return JSON.parse(run.out()).reapMs;
}

async function termToExit(init) {
  const run = await startAsPid1(init, [node, 'test/fixtures/print-signals.js', '--exit-on', 'SIGTERM']);
  while (!run.out().includes('ready')) await sleep(5);
  const start = process.hrtime.bigint();
  process.kill(run.pid, 'SIGTERM');
  await run.closed;
  return Number(process.hrtime.bigint() - start) / 1e6;
}

if (process.getuid() !== 0) throw new Error('run as root: the inits run as real PID 1 under unshare');
for (const tool of ['tini', 'dumb-init']) {
  if (spawnSync(tool, ['--version']).error) throw new Error(`${tool} is missing: apt-get install -y tini dumb-init`);
}
spawnSync(node, ['build.mjs'], { stdio: 'inherit' });
const results = {};
for (const name of Object.keys(INITS)) results[name] = { rssKiB: [], tasks: [], reapMs: [], termMs: [] };
// Interleaved, so that the machine's noise falls on all of them alike.
for (let i = 0; i < runs; i += 1) {
  for (const [name, init] of Object.entries(INITS)) {
    const { rssKiB, tasks } = await idle(init);
    results[name].rssKiB.push(rssKiB);
    results[name].tasks.push(tasks);
    results[name].reapMs.push(await reap2000(init));
    results[name].termMs.push(await termToExit(init));
  }
}
const rows = Object.entries(results).map(([name, r]) => ({
  init: name,
  idleRssKiB: median(r.rssKiB),
  tasks: median(r.tasks),
  reap2000Ms: median(r.reapMs),
  termToExitMs: Math.round(median(r.termMs) * 10) / 10,
}));
const tini = rows.find((row) => row.init === 'tini');
console.table(
  rows.map((row) => ({ ...row, reapVsTini: (row.reap2000Ms / tini.reap2000Ms).toFixed(2), termVsTini: (row.termToExitMs / tini.termToExitMs).toFixed(2) })),
);
