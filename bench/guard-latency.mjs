// Time from a per-command cap being exceeded (the launch of the instance one over the cap)
// to the guard's TERM (its "stopping MCP instance (duplicate)" log line), as real PID 1,
// in a pids cgroup (where pids.current is polled every 100 ms) and outside one (full scan
// every --interval only), interleaved. Usage (root): node bench/guard-latency.mjs [runs]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 7);
const node = process.execPath;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(inCgroup) {
  const report = join(mkdtempSync(join(tmpdir(), 'latency-')), 'report.jsonl');
  const cgroup = `/sys/fs/cgroup/pids/metamcp-init-bench-${process.pid}`;
  if (inCgroup) mkdirSync(cgroup, { recursive: true });
  const init = [
    node,
    'dist/metamcp-init.cjs',
    '--log-format',
    'json',
    '--max-per-command',
    '2',
    '--interval',
    '1s',
    '--',
    node,
    'test/fixtures/leak-sim/metamcp-like.js',
    '--report-file',
    report,
    '--sessions-never-closed',
    '3',
  ];
  const argv = ['unshare', '--pid', '--fork', '--mount-proc', ...init];
  const wrapped = inCgroup ? ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'sh', ...argv] : argv;
  const child = spawn(wrapped[0], wrapped.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk) => (err += chunk));
  child.stdout.resume();
  const closed = new Promise((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 15_000;
  let stopLine;
  while (!stopLine && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    stopLine = err.split('\n').find((line) => line.includes('stopping MCP instance (duplicate)'));
  }
  const pid1 = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
  process.kill(pid1, 'SIGTERM');
  await closed;
  if (inCgroup) rmdirSync(cgroup);
  if (!stopLine) throw new Error(`no stop within 15 s:\n${err}`);
  const launches = readFileSync(report, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.event === 'launch');
  return Date.parse(JSON.parse(stopLine).time) - launches[2].t;
}

if (process.getuid() !== 0) throw new Error('run as root');
spawnSync(node, ['build.mjs'], { stdio: 'inherit' });
const results = { 'in a pids cgroup': [], 'no pids cgroup': [] };
for (let i = 0; i < runs; i += 1) {
  results['in a pids cgroup'].push(await once(true));
  results['no pids cgroup'].push(await once(false));
}
console.table(Object.entries(results).map(([where, ms]) => ({ where, medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms) })));
