// Idle cost: each init as PID 1 of its own pid namespace and pids cgroup, with N processes in
// the namespace (the init, its child and N - 2 sleepers below the child), all three inits at
// once, so that the machine's noise falls on them alike. Over the window: the init's CPU time
// (utime + stime of all its threads, from /proc/PID/stat) as a share of one core, its RSS and
// task count (medians of samples every few seconds).
import { initEnv, inits, killPid1, makePidsCgroup, median, readStat, readStatus, removeCgroup, say, sig, sleep, startPid1, TICKS } from './helpers.mjs';

// Far above what the sleepers use: a container has a pids limit, and with one the init polls
// pids.current every 100 ms besides its full scan every second, as it would in production.
const PIDS_MAX = 10_000;

/** The child: N - 2 sleepers, then itself a sleeper; with the init, N processes in the namespace. */
function appOf(processes) {
  return ['sh', '-c', `i=2; while [ $i -lt ${processes} ]; do sleep 100000 & i=$((i+1)); done; exec sleep 100000`];
}

export async function measure(processes, { windowMs, settleMs, sampleEveryMs }) {
  const runs = [];
  try {
    for (const [name, init] of Object.entries(inits())) {
      const cgroup = makePidsCgroup(`idle-${name}-${processes}`, PIDS_MAX);
      const run = await startPid1([...init, ...appOf(processes)], { cgroup, env: name === 'metamcp-init' ? initEnv() : {} });
      runs.push({ name, cgroup, run });
    }
    // Every process is there (the cgroup holds unshare too), then the init settles.
    const deadline = Date.now() + 120_000;
    while (runs.some(({ cgroup }) => cgroup.pids().length < processes + 1)) {
      if (Date.now() > deadline)
        throw new Error(`the sleepers did not all start: ${runs.map(({ name, cgroup }) => `${name} ${cgroup.pids().length - 1}`).join(', ')}`);
      await sleep(100);
    }
    await sleep(settleMs);
    const first = runs.map(({ run }) => readStat(run.pid1.pid));
    const startedAt = process.hrtime.bigint();
    const samples = runs.map(() => []);
    const tasksInCgroup = runs.map(() => []);
    for (let t = 0; t < windowMs; t += sampleEveryMs) {
      await sleep(Math.min(sampleEveryMs, windowMs - t));
      runs.forEach(({ run, cgroup }, i) => {
        const status = readStatus(run.pid1.pid);
        if (status) samples[i].push(status);
        tasksInCgroup[i].push(cgroup.current());
      });
    }
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const last = runs.map(({ run }) => readStat(run.pid1.pid));
    return runs.map(({ name, cgroup, run }, i) => {
      if (!first[i] || !last[i] || samples[i].length === 0) throw new Error(`${name} exited during the idle window: ${run.stderr().slice(-1000)}`);
      return {
        init: name,
        processes: cgroup.pids().length - 1,
        seconds: Number(seconds.toFixed(1)),
        cpuPercent: ((last[i].cpuTicks - first[i].cpuTicks) / TICKS / seconds) * 100,
        cpuTicks: last[i].cpuTicks - first[i].cpuTicks,
        rssMiB: median(samples[i].map((s) => s.rssKiB)) / 1024,
        tasks: median(samples[i].map((s) => s.threads)),
        pidsCurrent: median(tasksInCgroup[i]),
        command: run.command,
      };
    });
  } finally {
    for (const { run, cgroup } of runs) {
      killPid1(run.pid1);
      await run.closed;
      await removeCgroup(cgroup.path);
    }
  }
}

export async function run({ quick }) {
  const counts = quick ? [25] : [25, 250, 2500];
  const timing = quick ? { windowMs: 2000, settleMs: 1000, sampleEveryMs: 500 } : { windowMs: 60_000, settleMs: 5000, sampleEveryMs: 5000 };
  const rows = [];
  for (const processes of counts) {
    say(`idle cost: ${processes} processes in each namespace, ${timing.windowMs / 1000} s, the three inits at once`);
    rows.push(...(await measure(processes, timing)));
  }
  const commands = Object.values(inits()).map((init) => `${[...init, ...appOf('<N>')].join(' ')}`);
  return { windowSeconds: timing.windowMs / 1000, pidsMax: PIDS_MAX, rows: rows.map(({ command: _command, ...row }) => row), commands };
}

export function targets(data) {
  const row = data.rows.find((r) => r.init === 'metamcp-init' && r.processes >= 250) ?? data.rows.filter((r) => r.init === 'metamcp-init').at(-1);
  return [
    {
      target: 'idle CPU < 0.5% of a core at 250 processes',
      figure: `${sig(row.cpuPercent, 2)}% at ${row.processes} processes over ${row.seconds} s`,
      met: row.cpuPercent < 0.5,
    },
  ];
}

export function render(data) {
  const lines = [];
  lines.push('| processes in the namespace | init | CPU, % of one core | RSS | tasks (threads) |');
  lines.push('|---:|---|---:|---:|---:|');
  for (const r of data.rows) {
    lines.push(`| ${r.processes} | ${r.init} | ${sig(r.cpuPercent, 2)}% | ${sig(r.rssMiB, 3)} MiB | ${r.tasks} |`);
  }
  return lines.join('\n');
}
