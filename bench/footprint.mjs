// The init's own footprint, side by side in one run, each as real PID 1 (unshare --pid) and
// idle: bare node, the init as it was started before (no node flags), as docker/Dockerfile's
// ENTRYPOINT starts it, as the npm bin runs it (the bundle's own first lines), and with the
// metrics server on. Tasks, RSS (median of the starts; and its private, anonymous part) once
// settled, and start-up time: from spawn to the main child's first line on stdout.
// Usage (root): node bench/footprint.mjs [starts=5]; FOOTPRINT_SETTLE_S (15) is when RSS is read.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

const starts = Number(process.argv[2] ?? 5);
// V8 gives memory back some seconds after start-up (its memory reducer): read RSS after that.
const settleMs = Number(process.env.FOOTPRINT_SETTLE_S ?? 15) * 1000;
const node = process.execPath;
const bundle = 'dist/metamcp-init.cjs';

if (process.getuid?.() !== 0) {
  console.error('bench/footprint.mjs runs each process as PID 1 of a new pid namespace: run it as root');
  process.exit(2);
}
execFileSync(node, ['build.mjs'], { stdio: 'inherit' });

// The image's own node flags, read from its ENTRYPOINT: ["node", …flags, "/opt/…/metamcp-init.cjs", "--"].
const entrypoint = JSON.parse(
  readFileSync('docker/Dockerfile', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('ENTRYPOINT '))
    .slice('ENTRYPOINT '.length),
);
const flags = entrypoint.slice(1, -2);
// npm links the bin into node_modules/.bin; PATH picks the node its first lines exec.
const binDir = mkdtempSync(join(tmpdir(), 'metamcp-init-footprint-'));
symlinkSync(join(process.cwd(), bundle), join(binDir, 'metamcp-init'));
const env = { ...process.env, PATH: `${join(node, '..')}:${process.env.PATH}` };

const child = ['--', 'sh', '-c', 'echo ready; exec sleep 1000'];
const init = ['--log-format', 'json', ...child];
const ROWS = [
  // fs.writeSync: process.stdout would load the stream modules an idle timer does not need.
  ['bare node (idle timer)', [node, ...flags, '-e', "require('node:fs').writeSync(1, 'ready\\n'); setInterval(() => {}, 1 << 30)"]],
  ['init, started as before: `node metamcp-init.cjs`', [node, bundle, ...init]],
  [`init, as the ENTRYPOINT: \`node ${flags.join(' ')} metamcp-init.cjs\``, [node, ...flags, bundle, ...init]],
  ['init, as the npm bin: `metamcp-init` (its first lines)', [join(binDir, 'metamcp-init'), ...init]],
  ['init, as the ENTRYPOINT, `--metrics-listen 127.0.0.1:0`', [node, ...flags, bundle, '--metrics-listen', '127.0.0.1:0', ...init]],
  ['(not adopted) init, as the ENTRYPOINT plus `--no-opt`', [node, ...flags, '--no-opt', bundle, ...init]],
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function childOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? Number(text.split(' ')[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts argv as PID 1 of a new pid namespace; resolves once its main child printed a line. */
async function start(argv) {
  const startedAt = process.hrtime.bigint();
  const proc = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...argv], { stdio: ['ignore', 'pipe', 'ignore'], env });
  const closed = new Promise((resolve) => proc.on('close', resolve));
  const firstLine = new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve();
    });
    proc.on('close', (code) => reject(new Error(`${argv.join(' ')} exited (${code}) before its child printed`)));
  });
  await firstLine;
  const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  let pid = childOf(proc.pid);
  while (!pid) {
    await sleep(5);
    pid = childOf(proc.pid);
  }
  return { proc, pid, closed, startedAt: Date.now() - startupMs, startupMs };
}

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kiB = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)[1]);
  return { rssKiB: kiB('VmRSS'), anonKiB: kiB('RssAnon'), tasks: kiB('Threads') };
}

// One start of every row in turn, `starts` times over, so that a drift in the machine's load
// falls on every row alike; every run is read `settleMs` after its own start.
const runs = [];
try {
  for (let i = 0; i < starts; i++) for (const [label, argv] of ROWS) runs.push({ label, ...(await start(argv)) });
  const results = new Map(ROWS.map(([label]) => [label, []]));
  for (const run of runs) {
    await sleep(run.startedAt + settleMs - Date.now());
    results.get(run.label).push({ ...status(run.pid), startupMs: run.startupMs });
  }

  const mb = (kiB) => (kiB / 1024).toFixed(1);
  const bare = median(results.get(ROWS[0][0]).map((r) => r.rssKiB));
  console.log(`\nNode ${process.version}, ${availableParallelism()} CPUs; ${starts} starts each, RSS read ${settleMs / 1000} s after each start; medians.\n`);
  console.log('| started as | tasks | RSS MB | over bare node | private (RssAnon) MB | start-up ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [label, figures] of results) {
    const rss = median(figures.map((r) => r.rssKiB));
    const tasks = [...new Set(figures.map((r) => r.tasks))].join('/');
    const over = label === ROWS[0][0] ? '' : `+${mb(rss - bare)}`;
    console.log(
      `| ${label} | ${tasks} | ${mb(rss)} | ${over} | ${mb(median(figures.map((r) => r.anonKiB)))} | ${median(figures.map((r) => r.startupMs)).toFixed(0)} |`,
    );
  }
} finally {
  // Killing a namespace's PID 1 makes the kernel kill the rest of it.
  for (const run of runs) {
    try {
      process.kill(run.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await Promise.all(runs.map((run) => run.closed));
  rmSync(binDir, { recursive: true, force: true });
}
