// Scan cost: the init's own /proc scanner (src/proc/read-snapshot.ts, bundled here with esbuild)
// timed in a pid namespace that holds exactly 100, 1000 and 5000 processes: cold (a new
// scanner reads every stat and cmdline) and cached (stat only, command lines from the cache, as
// on every scan of a settled container), rounds interleaved; median and p95. Also one
// identity-checked signal (pidfd + start time, src/proc/signal-proc.ts) against process.kill.
import { join } from 'node:path';
import { build } from 'esbuild';
import { median, NODE, p95, ROOT, say, sig, startPid1, tmpDir } from './helpers.mjs';

const PROBE = join(ROOT, 'bench/report/scan-probe.mjs');

/** Bundles the scanner, signalProc and what it is handed (a ProcAccess) from src/ (koffi stays external, as in the init's bundle). */
async function bundleScanner() {
  const dir = tmpDir('scan');
  const outfile = join(dir, 'scanner.cjs');
  await build({
    stdin: {
      contents: [
        "export { ProcScanner } from './src/proc/read-snapshot.ts';",
        "export { readStat } from './src/proc/read-proc.ts';",
        "export { signalProc } from './src/proc/signal-proc.ts';",
        "export { detectProcSource } from './src/proc/proc-source.ts';",
        "export { loadLibc } from './src/sys/libc.ts';",
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['koffi'],
    logLevel: 'warning',
  });
  return outfile;
}

export async function run({ quick }) {
  const plan = quick
    ? [
        { count: 50, rounds: 10 },
        { count: 200, rounds: 10 },
      ]
    : [
        { count: 100, rounds: 300 },
        { count: 1000, rounds: 100 },
        { count: 5000, rounds: 30 },
      ];
  const signals = quick ? 100 : 2000;
  const lib = await bundleScanner();
  const rows = [];
  let signal;
  const commands = [];
  for (const [i, { count, rounds }] of plan.entries()) {
    say(`scan cost: ${count} processes, ${rounds} rounds`);
    const argv = [NODE, PROBE, lib, String(count), String(rounds), String(i === 0 ? signals : 0)];
    // koffi is resolved from the repository's node_modules (the bundle sits in a temp dir).
    const probe = await startPid1(argv, { env: { NODE_PATH: join(ROOT, 'node_modules') } });
    const exit = await probe.closed;
    if (exit.code !== 0) throw new Error(`the scan probe failed (${JSON.stringify(exit)}): ${probe.stderr().slice(-1500)}`);
    const result = JSON.parse(probe.stdout().trim().split('\n').at(-1));
    commands.push(probe.command.join(' ').replace(lib, '<bundle of src/proc>'));
    rows.push({
      processes: result.processes,
      rounds,
      cold: { median: median(result.cold), p95: p95(result.cold) },
      cached: { median: median(result.cached), p95: p95(result.cached) },
      floor: { median: median(result.floor), p95: p95(result.floor) },
    });
    if (result.signalMicros) {
      signal = {
        calls: signals,
        kill: { median: median(result.signalMicros.kill), p95: p95(result.signalMicros.kill) },
        signalProc: { median: median(result.signalMicros.signalProc), p95: p95(result.signalMicros.signalProc) },
      };
    }
  }
  return { rows, signal, commands: [...new Set(commands.map((c) => c.replace(/ \d+ \d+ \d+$/, ' <processes> <rounds> <signals>')))] };
}

/** How the median grows from the fewest processes to the most: the slope on log-log axes (1 = linear). */
export function growth(rows, which) {
  const first = rows[0];
  const last = rows.at(-1);
  return Math.log(last[which].median / first[which].median) / Math.log(last.processes / first.processes);
}

/** The cached scan's median per 1000 processes, at the row with the most processes that is at most 1000, or the largest. */
export function cachedPer1000(rows) {
  const row = rows.find((r) => r.processes >= 1000) ?? rows.at(-1);
  return { processes: row.processes, msPer1000: (row.cached.median * 1000) / row.processes, p95Per1000: (row.cached.p95 * 1000) / row.processes };
}

export function targets(data) {
  const per = cachedPer1000(data.rows);
  return [
    {
      target: 'cached scan ≤ 10 ms per 1000 processes',
      figure: `${sig(per.msPer1000, 2)} ms per 1000 (median at ${per.processes} processes; p95 ${sig(per.p95Per1000, 2)})`,
      met: per.msPer1000 <= 10,
    },
  ];
}

export function render(data, { image }) {
  const lines = [];
  lines.push(
    '| processes in the namespace | rounds | cold: median | cold: p95 | cached: median | cached: p95 | cached per 1000 processes | system calls alone: median |',
  );
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of data.rows) {
    lines.push(
      `| ${r.processes} | ${r.rounds} | ${sig(r.cold.median)} ms | ${sig(r.cold.p95)} ms | ${sig(r.cached.median)} ms | ${sig(r.cached.p95)} ms | ${sig((r.cached.median * 1000) / r.processes, 2)} ms | ${sig(r.floor.median)} ms |`,
    );
  }
  const first = data.rows[0];
  const last = data.rows.at(-1);
  lines.push('');
  lines.push(
    `How it grows: from ${first.processes} to ${last.processes} processes (×${sig(last.processes / first.processes, 2)}) the cold scan's median grows ` +
      `×${sig(last.cold.median / first.cold.median, 2)} and the cached scan's ×${sig(last.cached.median / first.cached.median, 2)}; ` +
      `on log-log axes the slopes are ${sig(growth(data.rows, 'cold'), 2)} (cold) and ${sig(growth(data.rows, 'cached'), 2)} (cached), where 1 is linear: ` +
      `the cost is per process, ${sig((last.cached.median * 1000) / last.processes, 2)} µs each cached and ${sig((last.cold.median * 1000) / last.processes, 2)} µs cold at ${last.processes}. ` +
      `"System calls alone" lists /proc and opens, reads and closes each /proc/PID/stat with nothing parsed: the kernel's share, which no change in JavaScript removes.`,
  );
  if (image) lines.push('', `![Scan cost against process count](${image})`);
  if (data.signal) {
    lines.push('');
    lines.push(
      `One signal, ${data.signal.calls} calls each, interleaved: \`process.kill\` (no identity check) median ${sig(data.signal.kill.median, 2)} µs ` +
        `(p95 ${sig(data.signal.kill.p95, 2)}), the init's \`signalProc\` (pidfd_open, start-time check, pidfd_send_signal, close) median ` +
        `${sig(data.signal.signalProc.median, 2)} µs (p95 ${sig(data.signal.signalProc.p95, 2)}).`,
    );
  }
  return lines.join('\n');
}

/** Points for the plot: one per process count and kind, with median and p95. */
export function plotData(data) {
  const label = (ms, processes) => `${sig(ms, 2)} ms (${sig((ms * 1000) / processes, 2)} per 1000)`;
  return data.rows.flatMap((r) => [
    { processes: r.processes, kind: 'cold (stat + cmdline of each)', median: r.cold.median, p95: r.cold.p95, label: label(r.cold.median, r.processes) },
    { processes: r.processes, kind: 'cached (stat only)', median: r.cached.median, p95: r.cached.p95, label: label(r.cached.median, r.processes) },
    { processes: r.processes, kind: 'system calls alone', median: r.floor.median, p95: r.floor.p95, label: '' },
  ]);
}
