// metamcp-init against tini and dumb-init as real PID 1 (unshare --pid --fork --mount-proc),
// runs interleaved and the order rotated each round, so that the machine's noise falls on all
// of them alike; medians, and ratios to tini:
// - reaping: reap-orphans.cjs makes 2000 orphans (`sleep` reparented to PID 1), SIGKILLs them
//   at once and times until none is left, zombie or alive;
// - signal forwarding: SIGUSR1 to PID 1, until the child's handler runs (the child stamps the
//   monotonic clock, the same clock the sender read just before kill()); then TERM to PID 1
//   until the namespace is gone (the child exits on TERM);
// - start-up to exec: from spawning unshare until the child, `bash -c 'echo $EPOCHREALTIME'`,
//   runs (wall clock, µs); "no init" runs the same child as PID 1 itself.
import { join } from 'node:path';
import { initEnv, inits, median, NODE, p95, ROOT, say, sig, sleep, startPid1 } from './helpers.mjs';

const STAMP = join(ROOT, 'bench/report/signal-stamp.cjs');
const REAP = join(ROOT, 'bench/report/reap-orphans.cjs');
/** A reference, not a contender: what any Node PID 1 costs (node-floor-init.cjs says what it does). */
export const NODE_FLOOR = 'Node floor';
const NODE_FLOOR_INIT = join(ROOT, 'bench/report/node-floor-init.cjs');

const envOf = (name) => (name === 'metamcp-init' ? initEnv() : {});

async function reap(name, init, orphans) {
  const run = await startPid1([...init, NODE, REAP, String(orphans)], { env: envOf(name) });
  const exit = await run.closed;
  const line = run.stdout().trim().split('\n').at(-1);
  if (exit.code !== 0 || !line?.startsWith('{'))
    throw new Error(`${name}: reaping ${orphans} orphans failed (${JSON.stringify(exit)}): ${run.stderr().slice(-1000)}`);
  const result = JSON.parse(line);
  if (result.orphans !== orphans) throw new Error(`${name}: made ${result.orphans} orphans, not ${orphans}`);
  return result;
}

async function signals(name, init, count) {
  const run = await startPid1([...init, NODE, STAMP], { env: envOf(name) });
  const stamps = () => run.stdout().match(/^USR1 \d+$/gm) ?? [];
  const waitUntil = async (test, what) => {
    const deadline = Date.now() + 10_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`${name}: no ${what} within 10 s: ${run.stderr().slice(-1000)}`);
      await sleep(1);
    }
  };
  await waitUntil(() => run.stdout().includes('ready'), '"ready" from the child');
  // Past the init's start-up (a guard's first scan, libuv's thread pool), as a running container is.
  await sleep(1000);
  const latencies = [];
  for (let i = 0; i < count; i += 1) {
    const seen = stamps().length;
    const sentAt = process.hrtime.bigint();
    process.kill(run.pid1.pid, 'SIGUSR1');
    await waitUntil(() => stamps().length > seen, 'SIGUSR1 at the child');
    latencies.push(Number(BigInt(stamps()[seen].slice(5)) - sentAt) / 1000);
    await sleep(20);
  }
  const termAt = process.hrtime.bigint();
  process.kill(run.pid1.pid, 'SIGTERM');
  await run.closed;
  return { latencies, termToExitMs: Number(process.hrtime.bigint() - termAt) / 1e6 };
}

async function startup(name, init) {
  const before = performance.timeOrigin + performance.now();
  const run = await startPid1([...init, 'bash', '-c', 'echo $EPOCHREALTIME'], { env: { ...envOf(name), LC_ALL: 'C' }, findPid1: false });
  await run.closed;
  const at = Number(run.stdout().trim()) * 1000;
  if (!Number.isFinite(at)) throw new Error(`${name}: the child printed no time: ${run.stdout()} ${run.stderr().slice(-500)}`);
  return at - before;
}

export async function run({ quick }) {
  const rounds = quick ? 1 : 11;
  const orphans = quick ? 200 : 2000;
  const signalCount = quick ? 5 : 20;
  const startupsPerRound = quick ? 1 : 2;
  const contenders = { ...inits(), [NODE_FLOOR]: [NODE, '--v8-pool-size=1', NODE_FLOOR_INIT] };
  const names = Object.keys(contenders);
  const raw = Object.fromEntries(
    [...names, 'no init'].map((name) => [name, { reapMs: [], reapCpuMs: [], usr1Micros: [], usr1RoundMedians: [], termToExitMs: [], startupMs: [] }]),
  );
  for (let round = 0; round < rounds; round += 1) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    say(`PID 1: round ${round + 1} of ${rounds} (${order.join(', ')})`);
    for (const name of order) {
      const reaped = await reap(name, contenders[name], orphans);
      raw[name].reapMs.push(reaped.reapMs);
      raw[name].reapCpuMs.push(reaped.pid1CpuMs);
      const { latencies, termToExitMs } = await signals(name, contenders[name], signalCount);
      raw[name].usr1Micros.push(...latencies);
      raw[name].usr1RoundMedians.push(median(latencies));
      raw[name].termToExitMs.push(termToExitMs);
    }
    for (let i = 0; i < startupsPerRound; i += 1) {
      for (const name of [...order, 'no init']) raw[name].startupMs.push(await startup(name, contenders[name] ?? []));
    }
  }
  const rows = [...names, 'no init'].map((name) => ({
    init: name,
    reapMs: name === 'no init' ? null : median(raw[name].reapMs),
    reapCpuMs: name === 'no init' ? null : median(raw[name].reapCpuMs),
    usr1Micros: name === 'no init' ? null : { median: median(raw[name].usr1Micros), p95: p95(raw[name].usr1Micros) },
    termToExitMs: name === 'no init' ? null : median(raw[name].termToExitMs),
    startupMs: median(raw[name].startupMs),
  }));
  const commands = [
    ...names.map((name) => `${contenders[name].join(' ')} ${NODE} bench/report/reap-orphans.cjs ${orphans}`),
    ...names.map((name) => `${contenders[name].join(' ')} ${NODE} bench/report/signal-stamp.cjs`),
    ...[...names, 'no init'].map((name) => `${[...(contenders[name] ?? []), 'bash', '-c', "'echo $EPOCHREALTIME'"].join(' ')}`),
  ].map((command) => `unshare --pid --fork --mount-proc ${command}`);
  return { rounds, orphans, signalCount, startupsPerRound, rows, raw, commands };
}

/**
 * metamcp-init against tini: the median of the ratios of the two within each round (so that a
 * slow moment of the machine falls on both sides of a ratio), with the lowest and highest.
 */
export function pairedRatio(data, field, name = 'metamcp-init') {
  const roundMedians = (all) =>
    Array.from({ length: all.length / data.signalCount }, (_, i) => median(all.slice(i * data.signalCount, (i + 1) * data.signalCount)));
  const per = (name) => (field === 'usr1Micros' ? (data.raw[name].usr1RoundMedians ?? roundMedians(data.raw[name].usr1Micros)) : data.raw[name][field]);
  const init = per(name);
  const tini = per('tini');
  const ratios = init.map((value, i) => value / tini[i]);
  return { median: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios), rounds: ratios.length };
}

const x2 = (value) => `${value.toFixed(2)}×`;

export function targets(data) {
  const reap = pairedRatio(data, 'reapMs');
  const usr1 = pairedRatio(data, 'usr1Micros');
  const row = (name) => data.rows.find((r) => r.init === name);
  return [
    {
      target: 'reaping ≤ 1.0× tini',
      figure:
        `${x2(reap.median)} (${data.orphans} orphans, median of ${reap.rounds} rounds' ratios, from ${x2(reap.low)} to ${x2(reap.high)}; ` +
        `medians ${sig(row('metamcp-init').reapMs)} ms against ${sig(row('tini').reapMs)} ms` +
        (data.raw[NODE_FLOOR] ? `; the Node floor ${x2(pairedRatio(data, 'reapMs', NODE_FLOOR).median)})` : ')'),
      met: reap.median <= 1.0,
    },
    {
      target: 'signal latency ≤ 2× tini',
      figure:
        `${x2(usr1.median)} (SIGUSR1 to the child's handler, median of ${usr1.rounds} rounds' ratios, from ${x2(usr1.low)} to ${x2(usr1.high)}; ` +
        `medians ${sig(row('metamcp-init').usr1Micros.median)} µs against ${sig(row('tini').usr1Micros.median)} µs)`,
      met: usr1.median <= 2,
    },
  ];
}

export function render(data) {
  const lines = [];
  lines.push(
    `| init | reap ${data.orphans} orphans | × tini | PID 1's CPU meanwhile | SIGUSR1 to the child: median | p95 | × tini | TERM to exit | × tini | start-up to the child's exec | × tini |`,
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const tini = data.rows.find((r) => r.init === 'tini');
  const x = (a, b) => (a === null || b === null ? '—' : x2(a / b));
  for (const r of data.rows) {
    const dash = r.reapMs === null;
    lines.push(
      `| ${r.init} | ${dash ? '—' : `${sig(r.reapMs)} ms`} | ${x(r.reapMs, tini.reapMs)} | ${dash || r.reapCpuMs === undefined ? '—' : `${r.reapCpuMs} ms`} | ${dash ? '—' : `${sig(r.usr1Micros.median)} µs`} | ${dash ? '—' : `${sig(r.usr1Micros.p95)} µs`} | ${dash ? '—' : x(r.usr1Micros.median, tini.usr1Micros.median)} | ${dash ? '—' : `${sig(r.termToExitMs)} ms`} | ${x(r.termToExitMs, tini.termToExitMs)} | ${sig(r.startupMs)} ms | ${x(r.startupMs, tini.startupMs)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Medians of ${data.rounds} rounds (reaping, TERM to exit), ${data.rounds * data.signalCount} signals, and ${data.rounds * data.startupsPerRound} start-ups each; ` +
      'the targets compare the ratios within each round. ' +
      'The SIGUSR1 latency includes the child\'s own (Node) signal dispatch, the same for every init; "no init" is the child as PID 1 itself, the floor of start-up (unshare, a new /proc, bash). ' +
      `*${NODE_FLOOR}* is a reference, not an init to use: \`bench/report/node-floor-init.cjs\`, 30 lines of Node that spawn the child, reap with the same system calls as metamcp-init and forward three signals, nothing else; ` +
      "what metamcp-init costs beyond it is its own, what it costs beyond tini is a Node process's.",
  );
  return lines.join('\n');
}
