// Draws what an operator sees of a launch storm in the init's Prometheus metrics, from a real
// run: the bundled init as real PID 1 in a real pids cgroup (pids.max 200), the MetaMCP-like
// simulator as its app in a storm, /metrics scraped every 200 ms; then the same storm with
// --dry-run (the guard decides but stops nothing). Writes <out>/storm-pids.svg (vega-lite)
// and <out>/storm-pids.json (the samples and the exact command lines), prints a summary.
// Usage (root, cgroup v1 pids or v2 with the pids controller; `npm run build` first):
//   node bench/storm-plot/run.mjs [--out docs/images] [--seconds 25]
//   node bench/storm-plot/run.mjs --replot docs/images/storm-pids.json [--out DIR]   (redraw only)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = join(ROOT, 'dist/metamcp-init.cjs');
const SIM = join(ROOT, 'test/fixtures/leak-sim/metamcp-like.js');

const PIDS_MAX = 200;
const STORM_RATE = 10; // launches a second
const STORM_SECONDS = 6;
// One simulated server tree: launcher 11 tasks + sh 1 + server 7 + 4 threads = 23, as a real npx server.
const SERVER_FLAGS = '--threads 4';
// The guard's settings besides the defaults: trim idle duplicates beyond 3 of a command once
// they have been idle 5 s (default 8 and 2 min), so that the run settles within the picture.
const GUARD_ARGS = ['--max-per-command', '3', '--idle-after', '5s', '--stop-grace', '1s', '--crash-budget', 'unlimited'];
const SCRAPE_EVERY_MS = 200;
const REASONS = ['orphan', 'duplicate', 'max-instances', 'pids-headroom', 'memory-headroom'];
const RUNS = [
  { label: 'metamcp-init', dryRun: false },
  { label: 'no guard (--dry-run)', dryRun: true },
];

function parseArgs(argv) {
  const args = { out: join(ROOT, 'docs/images'), seconds: 25, replot: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--out') args.out = resolve(value());
    else if (argv[i] === '--seconds') args.seconds = Number(value());
    else if (argv[i] === '--replot') args.replot = resolve(value());
    else throw new Error(`unknown option ${argv[i]}; usage: run.mjs [--out DIR] [--seconds N] [--replot FILE.json]`);
  }
  if (!(args.seconds >= STORM_SECONDS + 5)) throw new Error(`--seconds needs at least ${STORM_SECONDS + 5} (the storm and its aftermath)`);
  return args;
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// The cgroup: v1 /sys/fs/cgroup/pids/<name>, or v2 /sys/fs/cgroup/<name> (pids enabled for children).

function makePidsCgroup(name) {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const root = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';
  if (!existsSync(`${root}/cgroup.procs`)) throw new Error(`no cgroup v1 pids controller at ${root} and no cgroup v2 at /sys/fs/cgroup`);
  if (v2 && !readFileSync(`${root}/cgroup.subtree_control`, 'utf8').split(/\s+/).includes('pids')) {
    if (!readFileSync(`${root}/cgroup.controllers`, 'utf8').split(/\s+/).includes('pids')) throw new Error(`cgroup v2 at ${root} has no pids controller`);
    try {
      writeFileSync(`${root}/cgroup.subtree_control`, '+pids');
    } catch (error) {
      throw new Error(`could not enable pids for the cgroups below ${root} (${error.code}): run it where ${root} has no processes of its own, or on the host`);
    }
  }
  const path = `${root}/${name}`;
  mkdirSync(path);
  writeFileSync(`${path}/pids.max`, String(PIDS_MAX));
  return { path, version: v2 ? 2 : 1, current: () => Number(readFileSync(`${path}/pids.current`, 'utf8')), pids: () => pidsIn(path) };
}

function pidsIn(path) {
  try {
    return readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kills what is left in the cgroup (only what this script put there) and removes it. */
async function removeCgroup(path) {
  if (!existsSync(path)) return;
  for (let tries = 0; tries < 100 && pidsIn(path).length > 0; tries += 1) {
    for (const pid of pidsIn(path)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await sleep(100);
  }
  rmdirSync(path);
}

// ---------------------------------------------------------------------------------------------
// One run: the init as PID 1 in the cgroup, scraped every 200 ms.

/** The start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with its pid. */
function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process is still the one recorded, and not a zombie. */
function isRunning({ pid, startTime }) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === startTime && fields[0] !== 'Z';
  } catch {
    return false;
  }
}

function childPidsOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function httpGet(address, path, timeoutMs) {
  const url = new URL(`http://${address}${path}`);
  return new Promise((done, fail) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, timeout: timeoutMs, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      response.on('end', () => done({ status: response.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end();
  });
}

/** The samples of the exposition text, by metric name: [{labels, value}]. Enough for gauges and counters. */
function parseMetrics(text) {
  const byName = new Map();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    byName.set(match[1], [...(byName.get(match[1]) ?? []), { labels, value: Number(match[3]) }]);
  }
  return byName;
}

/** Everything this script started, so that it can be ended on any way out. */
const started = { children: new Set(), inits: new Set(), cgroups: new Set(), tmp: new Set() };

async function cleanUp() {
  const signal = (init, name) => {
    try {
      process.kill(init.pid, name);
    } catch {
      // Gone already.
    }
  };
  // First as a container stops: TERM, and a few seconds for the app to clean up after itself.
  for (const init of started.inits) if (isRunning(init)) signal(init, 'SIGTERM');
  for (let waited = 0; waited < 5000 && [...started.inits].some(isRunning); waited += 100) await sleep(100);
  // PID 1 of its namespace: killing it makes the kernel kill everything in the namespace.
  for (const init of started.inits) if (isRunning(init)) signal(init, 'SIGKILL');
  for (const child of started.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const path of started.cgroups) {
    try {
      await removeCgroup(path);
    } catch (error) {
      console.error(`could not remove ${path}: ${error.message}`);
    }
  }
  for (const dir of started.tmp) rmSync(dir, { recursive: true, force: true });
  started.inits.clear();
  started.children.clear();
  started.cgroups.clear();
  started.tmp.clear();
}

async function runOnce({ label, dryRun }, seconds, index) {
  const cgroup = makePidsCgroup(`metamcp-init-storm-plot-${process.pid}-${index}`);
  started.cgroups.add(cgroup.path);
  const dir = mkdtempSync(join(tmpdir(), 'storm-plot-'));
  started.tmp.add(dir);
  const reportFile = join(dir, 'report.jsonl');
  const app = [
    process.execPath,
    SIM,
    '--report-file',
    reportFile,
    '--storm',
    String(STORM_RATE),
    '--storm-seconds',
    String(STORM_SECONDS),
    '--server-flags',
    SERVER_FLAGS,
  ];
  const initArgs = ['--metrics-listen', '127.0.0.1:0', '--log-format', 'json', ...GUARD_ARGS, ...(dryRun ? ['--dry-run'] : [])];
  const argv = [
    'sh',
    '-c',
    `echo $$ > ${cgroup.path}/cgroup.procs && exec "$@"`,
    'sh',
    'unshare',
    '--pid',
    '--fork',
    '--mount-proc',
    process.execPath,
    BUNDLE,
    ...initArgs,
    '--',
    ...app,
  ];

  const loadAtStart = loadavg()[0];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  started.children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const closed = new Promise((done) => child.once('close', (code, signal) => done({ code, signal })));
  const logLines = () =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));

  // The init: the child unshare forked, PID 1 of the new namespace.
  let init;
  let address;
  const deadline = Date.now() + 30_000;
  while (!(init && address)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the init did not start serving metrics; stderr:\n${stderr.slice(-2000)}`);
    const pid = childPidsOf(child.pid)[0];
    if (!init && pid) {
      init = { pid, startTime: startTimeOf(pid) };
      started.inits.add(init);
    }
    address = logLines().find((line) => line.msg === 'serving metrics, health and status')?.listen;
    await sleep(20);
  }

  // Scrape on a fixed cadence until `seconds` after the storm's first launch (or the init's start).
  const samples = [];
  const startedAt = Date.now();
  let scrapeErrors = 0;
  for (let first = true; ; first = false) {
    const firstLaunch = readReport(reportFile).find((e) => e.event === 'launch')?.t;
    if (Date.now() >= (firstLaunch ?? startedAt) + seconds * 1000) break;
    // On the 200 ms grid from the start; a slow scrape skips a slot rather than bunching the next ones.
    if (!first) await sleep(SCRAPE_EVERY_MS - ((Date.now() - startedAt) % SCRAPE_EVERY_MS));
    const at = Date.now();
    try {
      const { status, body } = await httpGet(address, '/metrics', 1000);
      if (status !== 200) throw new Error(`status ${status}`);
      const metrics = parseMetrics(body);
      const one = (name) => metrics.get(name)?.[0]?.value ?? null;
      // The reasons with a stop so far (the counter of every other reason is 0).
      const stops = Object.fromEntries(
        REASONS.map((reason) => [reason, metrics.get('metamcp_init_stops_total')?.find((s) => s.labels.reason === reason)?.value ?? 0]).filter(
          ([, n]) => n > 0,
        ),
      );
      samples.push({
        atMs: at,
        pidsCurrent: one('metamcp_init_cgroup_pids_current'),
        pidsMax: one('metamcp_init_cgroup_pids_max'),
        highMark: one('metamcp_init_guard_pids_high_mark'),
        criticalMark: one('metamcp_init_guard_pids_critical_mark'),
        // Read here, straight from the cgroup, to check the metric against.
        cgroupPidsCurrent: cgroup.current(),
        stops,
      });
    } catch {
      scrapeErrors += 1;
    }
  }

  // A graceful end, as at a container's stop; the finally in main kills whatever is left.
  process.kill(init.pid, 'SIGTERM');
  const exit = await Promise.race([closed, sleep(20_000).then(() => undefined)]);
  const events = readReport(reportFile);
  const launches = events.filter((e) => e.event === 'launch');
  // The app hit the limit: a spawn failed with EAGAIN, or a launcher's Node aborted (no thread).
  const limitHits = events.filter(
    (e) => (e.event === 'spawn-error' && e.code === 'EAGAIN') || (e.event === 'exit' && (e.signal === 'SIGABRT' || e.code === 134)),
  );
  const stopLines = logLines().filter((line) => /^(stopping|would stop) MCP instance \(/.test(String(line.msg)));
  const t0 = launches[0]?.t ?? startedAt;
  return {
    label,
    dryRun,
    cgroupVersion: cgroup.version,
    load: { cpus: cpus().length, atStart: Number(loadAtStart.toFixed(2)), atEnd: Number(loadavg()[0].toFixed(2)) },
    command: argv,
    t0Ms: t0,
    stormEndS: launches.length > 0 ? (launches.at(-1).t - t0) / 1000 : null,
    launches: launches.length,
    limitHits: limitHits.length,
    limitHitKinds: countBy(limitHits.map((e) => (e.event === 'spawn-error' ? 'spawn EAGAIN' : 'launcher aborted'))),
    stopLogLines: stopLines.length,
    stopLogReasons: countBy(stopLines.map((line) => line.reason)),
    scrapeErrors,
    exit: exit ?? 'did not exit within 20 s of SIGTERM',
    samples: samples.map(({ atMs, ...rest }) => ({ t: Number(((atMs - t0) / 1000).toFixed(3)), ...rest })),
  };
}

function readReport(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return []; // A line being written.
      }
    });
}

/**
 * JSON as the project's formatter (biome, 160 columns) leaves it: objects expanded, arrays
 * on one line when they fit; and each sample on a line of its own when it fits.
 */
function jsonText(value, indent = 0, prefix = 0, inline = false) {
  const fits = (text, width) => !text.includes('\n') && indent + prefix + text.length + 1 <= width;
  const pad = (n) => ' '.repeat(n);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item) => jsonText(item, indent + 2, 0, inline));
    const flat = `[${items.join(', ')}]`;
    return fits(flat, 160) ? flat : `[\n${items.map((item) => pad(indent + 2) + item).join(',\n')}\n${pad(indent)}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  if (inline) {
    const flat = `{ ${entries.map(([key, item]) => `${JSON.stringify(key)}: ${jsonText(item, 0, 0, true)}`).join(', ')} }`;
    if (fits(flat, 160)) return flat;
  }
  const lines = entries.map(([key, item]) => {
    const head = `${JSON.stringify(key)}: `;
    return pad(indent + 2) + head + jsonText(item, indent + 2, head.length, inline || key === 'samples');
  });
  return `{\n${lines.join(',\n')}\n${pad(indent)}}`;
}

function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// The picture.

/** Stops as events: where a stops_total counter went up between two scrapes. */
function stopEvents(run) {
  const events = [];
  for (let i = 1; i < run.samples.length; i += 1) {
    for (const reason of REASONS) {
      const added = (run.samples[i].stops[reason] ?? 0) - (run.samples[i - 1].stops[reason] ?? 0);
      for (let n = 0; n < added; n += 1) events.push({ t: run.samples[i].t, reason });
    }
  }
  return events;
}

function figuresOf(run) {
  const pids = run.samples.map((s) => s.pidsCurrent).filter((v) => v !== null);
  const last = run.samples.at(-1);
  return {
    peak: Math.max(...pids),
    atLimit: run.samples.filter((s) => s.pidsCurrent !== null && s.pidsCurrent >= s.pidsMax).length,
    samples: run.samples.length,
    stops: Object.fromEntries(REASONS.filter((r) => last?.stops[r] > 0).map((r) => [r, last.stops[r]])),
    end: last?.pidsCurrent,
  };
}

function specOf(data) {
  const [guarded, unguarded] = data.runs;
  const [g, u] = data.runs.map(figuresOf);
  const seconds = data.seconds;
  const inView = (s) => s.t >= -1 && s.t <= seconds;
  const marks = guarded.samples.find((s) => s.highMark !== null) ?? guarded.samples[0];
  const lines = data.runs.flatMap((run) =>
    run.samples.filter((s) => s.pidsCurrent !== null && inView(s)).map((s) => ({ t: s.t, pids: s.pidsCurrent, run: run.label })),
  );
  // One tick per scrape at which the counter rose; above each burst of ticks (none more than
  // 1.2 s from the one before), how many stops it holds.
  const rowOf = (reason) => `${g.stops[reason]} ${reason} stop${g.stops[reason] === 1 ? '' : 's'}`;
  const stops = [];
  for (const e of stopEvents(guarded)) {
    const same = stops.find((o) => o.t === e.t && o.reason === e.reason);
    if (same) same.n += 1;
    else stops.push({ ...e, n: 1, row: rowOf(e.reason) });
  }
  const bursts = [];
  for (const tick of stops) {
    const burst = bursts.findLast((b) => b.reason === tick.reason);
    if (burst && tick.t - burst.to <= 1.2) Object.assign(burst, { to: tick.t, n: burst.n + tick.n });
    else bursts.push({ reason: tick.reason, row: tick.row, from: tick.t, to: tick.t, n: tick.n });
  }
  const burstLabels = bursts.filter((b) => b.n > 1).map((b) => ({ row: b.row, t: (b.from + b.to) / 2, label: `${b.n}` }));
  const rows = REASONS.filter((r) => g.stops[r] > 0).map(rowOf);
  const rules = [
    { y: marks.pidsMax, text: `pids.max ${marks.pidsMax}`, dash: [1, 0] },
    { y: marks.criticalMark, text: `critical mark ${marks.criticalMark}`, dash: [5, 3] },
    { y: marks.highMark, text: `high mark ${marks.highMark}`, dash: [5, 3] },
  ];
  const blue = '#1f6fb4';
  const red = '#d6452d';
  const width = 640;
  const x = (extra = {}) => ({ field: 't', type: 'quantitative', scale: { domain: [-1, seconds], nice: false, zero: false }, ...extra });
  const y = { type: 'quantitative', scale: { domain: [0, marks.pidsMax + 30], nice: false } };
  const storm = data.storm;
  const stormEnd = guarded.stormEndS ?? storm.seconds;
  // A run's name and figures, right-aligned at the end of its line: above it when it ends near
  // pids.max (nothing is drawn there), below it otherwise (clear of the line's earlier steps).
  const lineLabel = (run, name, details, color) => {
    const at = valueNear(run, seconds);
    const above = at > marks.pidsMax - 10;
    const pids = above ? marks.pidsMax : at;
    const looks = above
      ? [
          { text: name, baseline: 'bottom', dy: -16, fontWeight: 'bold', fontSize: 12 },
          { text: details, baseline: 'bottom', dy: -3, fontWeight: 'normal', fontSize: 10.5 },
        ]
      : [
          { text: name, baseline: 'top', dy: 5, fontWeight: 'bold', fontSize: 12 },
          { text: details, baseline: 'top', dy: 20, fontWeight: 'normal', fontSize: 10.5 },
        ];
    return looks.map(({ text, ...look }) => ({
      data: { values: [{ t: seconds, pids, text }] },
      mark: { type: 'text', align: 'right', dx: -2, color, ...look },
      encoding: { x: x(), y: { ...y, field: 'pids' }, text: { field: 'text' } },
    }));
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 10,
    title: {
      text: `A storm of ${storm.launchesPerSecond} MCP server launches a second for ${storm.seconds} s, in a cgroup with pids.max ${marks.pidsMax}`,
      subtitle: [
        `Each server is an npx tree of 23 tasks and is never closed. pids.current as the init's /metrics reported it every ${SCRAPE_EVERY_MS} ms.`,
        'The guard stops idle servers from its high mark on, and starting or busy ones too from its critical mark;',
        `after the storm it trims idle duplicates of one command down to ${data.guardArgs[data.guardArgs.indexOf('--max-per-command') + 1]} (${data.guardArgs.slice(0, 4).join(' ')}).`,
      ],
      anchor: 'start',
      fontSize: 14,
      subtitleFontSize: 11.5,
      subtitleColor: '#444',
      subtitlePadding: 5,
      offset: 12,
    },
    config: {
      aria: false,
      font: 'Helvetica, Arial, DejaVu Sans, sans-serif',
      view: { stroke: null },
      axis: { labelFontSize: 11, titleFontSize: 11.5, titleFontWeight: 'normal', titleColor: '#333', gridColor: '#ececec' },
    },
    vconcat: [
      {
        width,
        height: 300,
        layer: [
          // The storm, shaded.
          {
            data: { values: [{ from: 0, to: stormEnd }] },
            mark: { type: 'rect', color: '#f0f0f0' },
            encoding: { x: x({ field: 'from' }), x2: { field: 'to' } },
          },
          {
            data: { values: [{ t: stormEnd / 2, text: 'storm' }] },
            mark: { type: 'text', baseline: 'top', y: 4, color: '#777', fontSize: 11 },
            encoding: { x: x(), text: { field: 'text' } },
          },
          // pids.max and the guard's marks, named outside the plot on the right.
          {
            data: { values: rules },
            mark: { type: 'rule', color: '#555', strokeWidth: 1 },
            encoding: { y: { ...y, field: 'y' }, strokeDash: { field: 'dash', type: 'nominal', scale: null, legend: null } },
          },
          {
            data: { values: rules },
            mark: { type: 'text', align: 'left', baseline: 'middle', x: width + 5, fontSize: 10.5, color: '#333' },
            encoding: { y: { ...y, field: 'y' }, text: { field: 'text' } },
          },
          // The two runs.
          {
            data: { values: lines },
            mark: { type: 'line', strokeWidth: 2 },
            encoding: {
              x: x({ axis: { title: null, labels: false, ticks: false, domain: false } }),
              y: { ...y, field: 'pids', title: 'tasks in the cgroup (pids.current)' },
              color: { field: 'run', type: 'nominal', scale: { domain: data.runs.map((r) => r.label), range: [blue, red] }, legend: null },
            },
          },
          ...lineLabel(guarded, guarded.label, `peak ${g.peak}, ${atLimitText(g)}, ${failedText(guarded)}`, blue),
          ...lineLabel(unguarded, unguarded.label, `peak ${u.peak}, ${atLimitText(u)}, ${failedText(unguarded)}`, red),
        ],
      },
      {
        // The guard's stops, where metamcp_init_stops_total rose between two scrapes.
        width,
        height: Math.max(1, rows.length) * 28,
        data: { values: stops },
        layer: [
          {
            mark: { type: 'tick', orient: 'vertical', thickness: 2, size: 11, color: blue, opacity: 1 },
            encoding: {
              x: x({ title: 'seconds since the first launch' }),
              y: { field: 'row', type: 'nominal', sort: rows, scale: { domain: rows }, axis: { title: null, domain: false, ticks: false, labelColor: blue } },
            },
          },
          {
            data: { values: burstLabels },
            mark: { type: 'text', align: 'center', baseline: 'bottom', dy: -7, fontSize: 10, color: blue },
            encoding: { x: x(), y: { field: 'row', type: 'nominal', sort: rows }, text: { field: 'label' } },
          },
        ],
      },
    ],
    spacing: 6,
  };
}

function failedText(run) {
  return `${run.limitHits} launch${run.limitHits === 1 ? '' : 'es'} failed`;
}

function atLimitText(figures) {
  return `at pids.max in ${figures.atLimit} of ${figures.samples} scrapes`;
}

/** pids.current of a run at the sample nearest to t. */
function valueNear(run, t) {
  return run.samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best)).pidsCurrent;
}

function describeStops(stops) {
  const parts = Object.entries(stops).map(([reason, n]) => `${n} ${reason}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/**
 * Text widths for the layout. Without a canvas vega guesses 0.8 em a character, which makes
 * the picture far wider than its text; 0.6 em (0.66 bold) is DejaVu Sans's, the widest of the
 * fonts named, so the text still fits where a viewer has only that one.
 */
vega.textMetrics.width = (item, text) => {
  const line = text == null ? '' : String(text).trim();
  const size = item.fontSize != null ? Number(item.fontSize) : 11;
  return line.length * size * (String(item.fontWeight ?? '') === 'bold' ? 0.66 : 0.6);
};

function escapeXml(text) {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
}

/** What the picture shows, in one sentence: its SVG <title>. */
function titleOf(data) {
  const [g, u] = data.runs.map(figuresOf);
  return (
    `pids.current during a storm of ${data.storm.launchesPerSecond} MCP server launches a second for ${data.storm.seconds} s ` +
    `in a cgroup with pids.max ${data.pidsMax}: ` +
    `with metamcp-init it peaks at ${g.peak} and settles at ${g.end}, ${failedText(data.runs[0])}; ` +
    `without its stops (--dry-run) it peaks at ${u.peak}, ${failedText(data.runs[1])}`
  );
}

async function draw(data, out) {
  const spec = specOf(data);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  // A static image: a <title> for screen readers, and no ARIA roles of an interactive chart.
  const svg = (await view.toSVG())
    .replace(/ (role|aria-roledescription)="[^"]*"/g, '')
    .replace(/^(<svg[^>]*>)/, `$1<title>${escapeXml(titleOf(data))}</title>`);
  view.finalize();
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'storm-pids.svg'), `${svg}\n`);
}

function summaryOf(data) {
  const [guarded, unguarded] = data.runs.map(figuresOf);
  const [g, u] = data.runs;
  return [
    `peak pids.current: metamcp-init ${guarded.peak}/${data.pidsMax}, no guard (--dry-run) ${unguarded.peak}/${data.pidsMax}; at the end ${guarded.end} vs ${unguarded.end}`,
    `stops by reason: metamcp-init ${describeStops(guarded.stops)}; --dry-run would have stopped ${describeStops(unguarded.stops)}`,
    `samples at the limit: metamcp-init ${guarded.atLimit}/${guarded.samples}, no guard ${unguarded.atLimit}/${unguarded.samples}; EAGAIN/aborts in the app: ${g.limitHits} vs ${u.limitHits}`,
  ];
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let data;
  if (args.replot) {
    data = JSON.parse(readFileSync(args.replot, 'utf8'));
  } else {
    if (process.getuid?.() !== 0) throw new Error('needs root: it makes a cgroup and runs the init as PID 1 of a new pid namespace');
    if (!existsSync(BUNDLE)) throw new Error(`no bundle at ${BUNDLE}: run npm run build first`);
    // The second run starts in the load the first one leaves; only what was there before counts.
    if (loadavg()[0] > cpus().length)
      console.error(`the machine is busy (load ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs): the runs may not be typical`);
    const runs = [];
    for (const [index, run] of RUNS.entries()) {
      console.error(`recording ${run.label} for ${args.seconds} s ...`);
      runs.push(await runOnce(run, args.seconds, index));
      await cleanUp();
    }
    data = {
      what: 'pids.current and the guard marks and stop counters, scraped from /metrics of the init as PID 1 in a pids cgroup, during a storm of the MetaMCP-like simulator',
      recordedAt: new Date().toISOString(),
      node: process.version,
      seconds: args.seconds,
      pidsMax: PIDS_MAX,
      storm: { launchesPerSecond: STORM_RATE, seconds: STORM_SECONDS, serverFlags: SERVER_FLAGS },
      guardArgs: GUARD_ARGS,
      scrapeEveryMs: SCRAPE_EVERY_MS,
      note:
        "t: seconds since the run's first launch; pidsCurrent, pidsMax, highMark, criticalMark: the scraped metamcp_init_cgroup_pids_current, " +
        '_cgroup_pids_max, _guard_pids_high_mark, _guard_pids_critical_mark; cgroupPidsCurrent: pids.current read from the cgroup by this script ' +
        'right after the scrape; stops: metamcp_init_stops_total by reason, the reasons still at 0 left out. limitHits: EAGAIN on spawn or a launcher aborted, in the app.',
      runs,
    };
    data.summary = summaryOf(data);
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, 'storm-pids.json'), `${jsonText(data)}\n`);
  }
  await draw(data, args.out);
  for (const line of summaryOf(data)) console.log(line);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`${signal}: cleaning up`);
    cleanUp().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  console.error(error.stack ?? error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
