// A leak storm in a real pids cgroup (pids.max 200): the MetaMCP-like simulator
// (test/fixtures/leak-sim) opens client sessions at 10/s and 50/s through its server pool, with
// its crash accounting, and never closes them; every session's first use of the server launches
// an `npx` tree of 23 tasks. Four contenders, one after the other for each rate:
//   metamcp-init  the init as PID 1, with the Dockerfile's flags;
//   seed loop     tini as PID 1, and bench/seed-kill-loop.sh (`ps | grep | kill -9`, every 30 s
//                 or every 1 s) started beside the app in the same cgroup and pid namespace;
//   no guard      tini alone.
// Measured: pids.current every 20 ms (peak, time at the limit), the kernel's refused forks,
// what the app saw (EAGAIN on spawn, launchers that aborted or could not fork, crashes counted,
// sessions served, a fresh session after the storm), and the time from the contender's own cap
// being exceeded to its first TERM (or KILL). BENCH_STORM_DUMP=<prefix> also writes each run's
// samples, the init's log lines and the app's events to <prefix>-<n>.json, for a closer look.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cmdlineOf,
  initArgv,
  initEnv,
  makePidsCgroup,
  median,
  NODE,
  removeCgroup,
  SEED_LOOP,
  SIM,
  say,
  sig,
  sleep,
  startPid1,
  stopPid1,
  tmpDir,
} from './helpers.mjs';

export const PIDS_MAX = 200;
const SEED_MAX_PROCESSES = 15;
const SEED_PATTERN = /npm exec|@modelcontextprotocol/;
const SAMPLE_EVERY_MS = 20;
const MATCH_EVERY_MS = 100;

/** The contenders: argv for PID 1 given the app's argv, and the cap each one acts on. */
function contenders(dir, quick) {
  const seed = (seconds) => (app) => [
    'tini',
    '--',
    'sh',
    '-c',
    `"$0" ${SEED_MAX_PROCESSES} ${seconds} 2>"$1" & shift; exec "$@"`,
    SEED_LOOP,
    join(dir, `seed-${seconds}s.err`),
    ...app,
  ];
  const all = [
    {
      name: 'metamcp-init',
      argv: (app) => [...initArgv(), '--log-format', 'json', '--', ...app],
      env: { ...initEnv(), METAMCP_INIT_CRASH_BUDGET: 'unlimited' },
      cap: 'pids-high-mark',
    },
    { name: 'seed loop, every 30 s', argv: seed(30), cap: 'seed-count', seedErr: join(dir, 'seed-30s.err') },
    { name: 'seed loop, every 1 s', argv: seed(1), cap: 'seed-count', seedErr: join(dir, 'seed-1s.err') },
    { name: 'no guard', argv: (app) => ['tini', '--', ...app] },
  ];
  return quick ? all.filter((c) => c.name === 'metamcp-init' || c.name === 'no guard') : all;
}

function readEvents(file) {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}

function jsonLines(text) {
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

/** The init's high watermark, as src/guard/headroom.ts computes it from its 'guard on' line. */
function highMarkOf(lines) {
  const on = lines.find((line) => String(line.msg).startsWith('guard on'));
  const headroom = on?.pidsHeadroom;
  const max = on?.pids?.maxTasks ?? PIDS_MAX;
  if (!headroom) return undefined;
  return max - ('percent' in headroom ? Math.floor((max * headroom.percent) / 100) : headroom.amount);
}

export async function runOnce(contender, { rate, seconds, sessionTimeoutMs, minObserveMs, observeMs, finalSession }, index) {
  const dir = tmpDir('storm');
  const report = join(dir, 'report.jsonl');
  const sessions = Math.round(rate * seconds);
  const app = [
    NODE,
    SIM,
    '--report-file',
    report,
    '--sessions',
    String(sessions),
    '--session-every',
    String(Math.round(1000 / rate)),
    '--max-attempts',
    '1000',
    '--session-timeout',
    String(sessionTimeoutMs),
    ...(finalSession ? ['--final-session', '--final-after', '3000'] : []),
    '--server-flags',
    '--threads 4',
  ];
  const cgroup = makePidsCgroup(`storm-${index}`, PIDS_MAX);
  const self = contenders(dir, false).find((c) => c.name === contender.name) ?? contender;
  const run = await startPid1(self.argv(app), { cgroup, env: self.env });
  const startedAt = Date.now();
  const samples = [];
  const matching = [];
  let nextMatch = 0;
  let refused;
  let exit;
  try {
    // Until the app is done (every session answered or timed out, and the fresh one after), but
    // at least minObserveMs: the every-30-s loop looks a second time at about 30 s.
    while ((!run.stdout().includes('scenario-done') || Date.now() - startedAt < minObserveMs) && Date.now() - startedAt < observeMs) {
      if (run.child.exitCode !== null) throw new Error(`${contender.name} exited early: ${run.stderr().slice(-1500)}`);
      const now = Date.now();
      samples.push({ t: now, pids: cgroup.current() });
      if (now >= nextMatch) {
        // What the seed loop's `ps aux | grep -E …` counts (its own grep aside), read from /proc.
        matching.push({ t: now, count: cgroup.pids().filter((pid) => SEED_PATTERN.test(cmdlineOf(pid)) && !cmdlineOf(pid).startsWith('grep')).length });
        nextMatch = now + MATCH_EVERY_MS;
      }
      await sleep(Math.max(0, now + SAMPLE_EVERY_MS - Date.now()));
    }
  } finally {
    refused = cgroup.refused();
    exit = await stopPid1(run);
    await removeCgroup(cgroup.path);
  }
  const events = readEvents(report);
  const lines = jsonLines(run.stderr());
  const launches = events.filter((e) => e.event === 'launch');
  const t0 = launches[0]?.t ?? startedAt;
  const eagain = events.filter((e) => e.event === 'spawn-error' && e.code === 'EAGAIN').length;
  const aborts = events.filter((e) => e.event === 'exit' && (e.signal === 'SIGABRT' || e.code === 134)).length;
  // A launcher whose own spawn of `sh` failed at the limit says so on stderr (npx-cli.js).
  const launcherForkFailures = (run.stderr().match(/npx-cli \(fake\): spawn sh: EAGAIN/g) ?? []).length;
  const crashes = events.filter((e) => e.event === 'crash').length;
  const summary = events.find((e) => e.event === 'summary');
  const sessionEvents = events.filter((e) => e.event === 'session' && !e.final);
  const final = events.find((e) => e.event === 'session' && e.final);
  const peak = Math.max(...samples.map((s) => s.pids));

  // The contender's cap, when it was first exceeded, and its first TERM or KILL.
  let capAt;
  let firstStopAt;
  let stops = 0;
  let capText = '—';
  if (self.cap === 'pids-high-mark') {
    const high = highMarkOf(lines);
    capText = `pids.current ≥ ${high} (its high mark)`;
    capAt = samples.find((s) => s.pids >= high)?.t;
    const stopLines = lines.filter((line) => /^stopping MCP instance \(/.test(String(line.msg)));
    stops = stopLines.length;
    firstStopAt = stopLines[0] ? Date.parse(stopLines[0].time) : undefined;
  } else if (self.cap === 'seed-count') {
    capText = `more than ${SEED_MAX_PROCESSES} matching processes`;
    capAt = matching.find((m) => m.count > SEED_MAX_PROCESSES)?.t;
    // kill -9 of a launcher: it dies of SIGKILL; of its sh or server: npm exec exits 137.
    const killed = events.filter((e) => e.event === 'exit' && (e.signal === 'SIGKILL' || e.code === 137));
    stops = killed.length;
    firstStopAt = killed[0]?.t;
  }
  // How fast the app filled the cgroup: tasks a second from 40 to 160 tasks on the way up.
  const from = samples.find((s) => s.pids >= 40);
  const to = samples.find((s) => s.pids >= 160);
  const growthTasksPerS = from && to && to.t > from.t ? ((to.pids - from.pids) * 1000) / (to.t - from.t) : null;
  // The init's own account: how long its stops took, at what pressure the first came, loops it said.
  const stopped = lines.filter((line) => line.msg === 'stopped MCP instance' && typeof line.tookMs === 'number').map((line) => line.tookMs);
  const decisions = lines.filter((line) => /^stopping MCP instance \(/.test(String(line.msg)));
  // Before and after the guard said a respawn loop (then it stops at most one starting instance of the key a second).
  const loopLine = lines.find((line) => String(line.msg).startsWith('instances of one command are stopped and started over'));
  const loopAt = loopLine ? Date.parse(loopLine.time) : undefined;
  const split = (from, to) => {
    const inside = samples.filter((x) => x.t >= from && x.t < to);
    const seconds = Math.max(0.001, (Math.min(to, samples.at(-1).t) - from) / 1000);
    const stopsIn = decisions.filter((d) => Date.parse(d.time) >= from && Date.parse(d.time) < to);
    return {
      seconds: Number(seconds.toFixed(1)),
      atLimitPercent: inside.length > 0 ? (100 * inside.filter((x) => x.pids >= PIDS_MAX).length) / inside.length : null,
      stopsPerSecond: stopsIn.length / seconds,
      tasksPerStop: stopsIn.length > 0 ? median(stopsIn.map((d) => d.tasks)) : null,
    };
  };
  const guard =
    self.cap === 'pids-high-mark'
      ? {
          respawnLoopAtS: loopAt === undefined ? null : (loopAt - t0) / 1000,
          beforeLoop: split(t0, loopAt ?? Number.POSITIVE_INFINITY),
          afterLoop: loopAt === undefined ? null : split(loopAt, Number.POSITIVE_INFINITY),
          stopTookMs: stopped.length > 0 ? median(stopped) : null,
          firstStopPressure: decisions[0]?.pressure ?? null,
          firstStopStarting: decisions[0]?.starting ?? null,
          stopsOfStarting: decisions.filter((line) => line.starting === true).length,
          respawnLoops: lines.filter((line) => String(line.msg).startsWith('instances of one command are stopped and started over')).length,
          maxStopsInOneSecond: Math.max(
            0,
            ...decisions.map((d) => decisions.filter((e) => Date.parse(e.time) >= Date.parse(d.time) && Date.parse(e.time) < Date.parse(d.time) + 1000).length),
          ),
        }
      : undefined;
  let seedForkErrors;
  if (self.seedErr) {
    let text = '';
    try {
      text = readFileSync(self.seedErr, 'utf8');
    } catch {
      // Nothing written.
    }
    seedForkErrors = (text.match(/fork: /g) ?? []).length;
  }
  const series = [];
  for (let i = 0; i < samples.length; i += 5) series.push({ t: Number(((samples[i].t - t0) / 1000).toFixed(2)), pids: samples[i].pids });

  if (process.env.BENCH_STORM_DUMP) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${process.env.BENCH_STORM_DUMP}-${index}.json`, JSON.stringify({ t0, samples, lines, events }));
  }
  return {
    contender: contender.name,
    rate,
    seconds,
    sessions,
    sessionTimeoutMs,
    finalSessionAsked: Boolean(finalSession),
    command: run.command,
    exit,
    peak,
    samplesAtLimit: samples.filter((s) => s.pids >= PIDS_MAX).length,
    samples: samples.length,
    refusedForks: refused,
    eagain,
    aborts,
    launcherForkFailures,
    crashes,
    errorServers: summary?.errorServers ?? [],
    launches: launches.length,
    served: sessionEvents.filter((e) => e.served).length,
    sessionsDone: sessionEvents.length,
    finalServed: final ? final.served : null,
    cap: capText,
    capToFirstStopMs: capAt !== undefined && firstStopAt !== undefined ? firstStopAt - capAt : null,
    capExceeded: capAt !== undefined,
    firstStopAfterStartS: firstStopAt !== undefined ? (firstStopAt - t0) / 1000 : null,
    stops,
    seedForkErrors,
    growthTasksPerS,
    guard,
    observedS: Number(((samples.at(-1).t - startedAt) / 1000).toFixed(1)),
    maxMatching: Math.max(0, ...matching.map((m) => m.count)),
    series,
  };
}

export async function run({ quick }) {
  const plans = quick
    ? [{ rate: 10, seconds: 2, sessionTimeoutMs: 2000, minObserveMs: 2500, observeMs: 15_000, finalSession: false }]
    : [
        { rate: 10, seconds: 10, sessionTimeoutMs: 30_000, minObserveMs: 36_000, observeMs: 75_000, finalSession: true },
        { rate: 50, seconds: 10, sessionTimeoutMs: 30_000, minObserveMs: 36_000, observeMs: 75_000, finalSession: true },
      ];
  const rows = [];
  let index = 0;
  for (const plan of plans) {
    for (const contender of contenders('', quick)) {
      say(`storm: ${plan.rate} sessions/s for ${plan.seconds} s, ${contender.name}`);
      rows.push(await runOnce(contender, plan, index++));
    }
  }
  return { pidsMax: PIDS_MAX, seedMaxProcesses: SEED_MAX_PROCESSES, rows };
}

export function targets(data) {
  const fast = Math.max(...data.rows.map((r) => r.rate));
  const row = data.rows.find((r) => r.contender === 'metamcp-init' && r.rate === fast);
  const hits = row.eagain + row.aborts + row.launcherForkFailures;
  return [
    {
      target: `storm peak < pids.max with no EAGAIN or abort at 50/s`,
      figure: `at ${fast}/s: peak ${row.peak}/${data.pidsMax}, ${row.eagain} EAGAIN, ${row.aborts} aborts, ${row.launcherForkFailures} launchers that could not fork`,
      met: fast >= 50 && row.peak < data.pidsMax && hits === 0,
    },
  ];
}

const ms = (value) => (value === null ? '—' : value >= 10_000 ? `${sig(value / 1000, 2)} s` : `${Math.round(value)} ms`);

export function render(data, { image }) {
  const lines = [];
  for (const rate of [...new Set(data.rows.map((r) => r.rate))]) {
    const rows = data.rows.filter((r) => r.rate === rate);
    lines.push(
      `**${rate} sessions a second for ${rows[0].seconds} s** (${rows[0].sessions} sessions, each a new server tree unless the pool's idle one is free), \`pids.max\` ${data.pidsMax}:`,
    );
    lines.push('');
    lines.push(
      '| contender | peak `pids.current` | time at `pids.max` | forks refused (`pids.events`) | EAGAIN seen by the app | launchers aborted / could not fork | crashes counted by the app | sessions served | fresh session after | cap exceeded → first TERM/KILL | stops |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|');
    for (const r of rows) {
      const capCell =
        r.cap === '—' ? '— (none)' : r.capExceeded ? `${ms(r.capToFirstStopMs)}${r.capToFirstStopMs === null ? ' (never)' : ''}` : 'cap never exceeded';
      const seed = r.seedForkErrors !== undefined ? `; the loop's own forks failed ${r.seedForkErrors}×` : '';
      lines.push(
        `| ${r.contender} | ${r.peak} | ${sig((100 * r.samplesAtLimit) / Math.max(1, r.samples), 2)}% | ${r.refusedForks} | ${r.eagain} | ${r.aborts} / ${r.launcherForkFailures} | ${r.crashes} | ${r.served}/${r.sessions} | ${r.finalServed === null ? (r.finalSessionAsked ? `not reached in ${Math.round(r.observedS)} s` : '—') : r.finalServed ? 'served' : 'not served'} | ${capCell} | ${r.stops}${seed} |`,
      );
    }
    lines.push('');
    const init = rows.find((r) => r.contender === 'metamcp-init');
    const growth = rows.map((r) => r.growthTasksPerS).filter((g) => g !== null);
    if (init?.guard) {
      const g = init.guard;
      lines.push(
        `The app filled the cgroup at ${sig(Math.min(...growth), 2)}–${sig(Math.max(...growth), 2)} tasks a second (from 40 to 160 tasks, by contender): the machine's two cores, not the session rate, set the pace. ` +
          `metamcp-init's first stop came at ${g.firstStopPressure ?? 'no'} pressure${g.firstStopStarting ? ', of an instance still starting' : ''}; ` +
          `${g.stopsOfStarting} of its ${init.stops} stops were of starting instances, at most ${g.maxStopsInOneSecond} in one second; a stop took ${g.stopTookMs === null ? '—' : `${Math.round(g.stopTookMs)} ms`} (median, TERM until its processes were gone); ` +
          `it said ${g.respawnLoops} respawn loop${g.respawnLoops === 1 ? '' : 's'}` +
          (g.respawnLoopAtS === null
            ? '.'
            : ` (first at ${sig(g.respawnLoopAtS, 2)} s). Before it, ${sig(g.beforeLoop.stopsPerSecond, 2)} stops a second (median ${g.beforeLoop.tasksPerStop} task${g.beforeLoop.tasksPerStop === 1 ? '' : 's'} each: trees just launched) held the cgroup at \`pids.max\` ${sig(g.beforeLoop.atLimitPercent, 2)}% of the time; ` +
              `after it, with at most one starting instance of the key stopped a second, ${sig(g.afterLoop.stopsPerSecond, 2)} stops a second and ${sig(g.afterLoop.atLimitPercent, 2)}% of the time at the limit.`),
      );
      lines.push('');
    }
  }
  if (image) lines.push(`![pids.current during the storm](${image})`, '');
  return lines.join('\n');
}

export function plotData(data) {
  return data.rows.flatMap((r) => r.series.map((s) => ({ rate: `${r.rate} sessions/s`, contender: r.contender, t: s.t, pids: s.pids })));
}
