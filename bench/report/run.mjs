// The benchmark report: runs every section side by side in one go and writes BENCHMARKS.md with
// its pictures. Root only (pid namespaces, cgroups); installs tini and dumb-init from Debian's
// packages when they are missing. `npm run bench` builds first, then runs this.
//   node bench/report/run.mjs              the full run (about 16 minutes): BENCHMARKS.md,
//                                          docs/images/bench-*.svg, bench/results/bench-<date>.json
//   node bench/report/run.mjs --quick      a few seconds of each section, into a temporary
//                                          directory (or --out DIR); fails if a section has no figures
//   node bench/report/run.mjs --render bench/results/bench-<date>.json
//                                          writes the report and pictures again from saved figures
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { BUNDLE, cleanUp, cleanUpOnSignals, ensureReferences, initArgv, machine, ROOT, say, sig } from './helpers.mjs';
import * as idle from './idle-cost.mjs';
import * as pid1 from './init-vs-tini.mjs';
import { scanSpec, stormSpec, writeSvg } from './plot.mjs';
import * as scan from './scan-cost.mjs';
import * as storm from './storm.mjs';

const SECTIONS = [
  { id: 'scan', title: 'Scan cost', module: scan },
  { id: 'pid1', title: 'PID 1: reaping, signal forwarding and start-up, against tini and dumb-init', module: pid1 },
  { id: 'idle', title: 'Idle cost', module: idle },
  { id: 'storm', title: 'A leak storm in a real pids cgroup', module: storm },
];

function parseArgs(argv) {
  const args = { quick: false, out: undefined, render: undefined, only: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--quick') args.quick = true;
    else if (argv[i] === '--out') args.out = resolve(value());
    else if (argv[i] === '--render') args.render = resolve(value());
    else if (argv[i] === '--only') args.only = value().split(',');
    else throw new Error(`unknown option ${argv[i]}; usage: run.mjs [--quick] [--out DIR] [--only scan,pid1,idle,storm] [--render FILE.json]`);
  }
  return args;
}

/** Where the report goes: the repository for a full run, a temporary directory for --quick. */
function destination(args) {
  if (args.out) return { markdown: join(args.out, 'BENCHMARKS.md'), images: join(args.out, 'images'), results: join(args.out, 'results.json') };
  if (args.quick) {
    const dir = mkdtempSync(join(os.tmpdir(), 'metamcp-bench-quick-'));
    return { markdown: join(dir, 'BENCHMARKS.md'), images: join(dir, 'images'), results: join(dir, 'results.json') };
  }
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
  return { markdown: join(ROOT, 'BENCHMARKS.md'), images: join(ROOT, 'docs/images'), results: join(ROOT, `bench/results/bench-${stamp}.json`) };
}

/** Every figure a section reports is a finite number: what --quick checks so that the bench cannot rot. */
function checkFigures(id, data) {
  const numbers = [];
  const walk = (value, path) => {
    if (typeof value === 'number') numbers.push([path, value]);
    else if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, `${path}[${i}]`);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
  };
  walk(data.rows, 'rows');
  if (!Array.isArray(data.rows) || data.rows.length === 0 || numbers.length === 0) throw new Error(`${id}: no figures`);
  const bad = numbers.filter(([, v]) => !Number.isFinite(v));
  if (bad.length > 0) throw new Error(`${id}: figures that are not numbers: ${bad.map(([p, v]) => `${p}=${v}`).join(', ')}`);
  for (const t of SECTIONS.find((s) => s.id === id).module.targets(data))
    if (!t.figure || /NaN|undefined|Infinity/.test(t.figure)) throw new Error(`${id}: bad target figure ${t.figure}`);
}

/** A command line as a shell would take it. */
function shell(argv) {
  return argv.map((word) => (/^[\w@%+=:,./<>-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`)).join(' ');
}

const shorten = (text) => text.replaceAll(ROOT, '').replaceAll(process.execPath, 'node');

function commandsOf(id, data) {
  if (id === 'storm') {
    const seen = new Map();
    for (const row of data.rows) {
      const key = `${row.contender}`;
      if (!seen.has(key)) seen.set(key, shell(row.command.map((w) => w.replace(/\/tmp\/metamcp-bench-storm-[^/]+/, '$TMP'))));
    }
    return [...seen.entries()].map(([name, command]) => `# ${name} (here at ${data.rows.find((r) => r.contender === name).rate}/s)\n${command}`);
  }
  return data.commands ?? [];
}

function markdown(results, { imageLinks }) {
  const m = results.machine;
  const out = [];
  out.push('# Benchmarks', '');
  if (results.quick)
    out.push('**Quick mode**: a few seconds of each section, to check that the bench works. These figures are too few to judge a target by.', '');
  out.push(
    `Written by \`npm run bench\` (\`bench/report/run.mjs\`) on ${m.date.slice(0, 10)}; do not edit by hand, run it again. ` +
      `It needs root (pid namespaces, cgroups) and takes about 16 minutes; it installs tini and dumb-init from Debian's packages ` +
      '(`apt-get install -y tini dumb-init`) when they are missing. `node bench/report/run.mjs --quick` runs a few seconds of each section (about 30 s in all) ' +
      'into a temporary directory (CI runs it, in `.ci/run`). Every contender runs side by side in one run: the three inits at the same ' +
      'time (idle), or interleaved with the order rotated (PID 1), or one after the other (storms, which need the whole machine).',
  );
  out.push('');
  out.push('## Machine', '');
  out.push('| | |', '|---|---|');
  out.push(`| date | ${m.date} |`);
  out.push(`| CPU | ${m.cpu} |`);
  out.push(`| memory | ${m.memoryGiB} GiB |`);
  out.push(`| OS, kernel | ${m.os}, Linux ${m.kernel} |`);
  out.push(`| Node | ${m.node} |`);
  out.push(`| tini, dumb-init | ${results.references.tini}, ${results.references['dumb-init']} (Debian packages) |`);
  out.push(`| cgroups | ${m.cgroup}; kernel.pid_max ${m.pidMax} |`);
  out.push(
    `| metamcp-init | commit ${m.commit}${m.srcChanged ? ' with uncommitted changes in src/' : ''}, \`npm run build\`; started as the Dockerfile's ENTRYPOINT: \`${shorten(shell(results.initArgv))} --\` |`,
  );
  out.push(
    `| load average (1, 5, 15 min) | ${m.loadStart.join(', ')} at the start, ${(m.loadEnd ?? []).join(', ')} at the end: a shared machine, so only figures of one run are compared |`,
  );
  out.push('');
  out.push('## Targets', '');
  out.push('| target | measured in this run | |', '|---|---|---|');
  for (const section of SECTIONS) {
    const data = results.sections[section.id];
    if (!data || data.error) continue;
    for (const t of section.module.targets(data)) out.push(`| ${t.target} | ${t.figure} | ${t.met ? '**met**' : '**missed**'} |`);
  }
  const failed = SECTIONS.filter((s) => results.sections[s.id]?.error);
  for (const s of failed) out.push(`| ${s.title} | failed: ${results.sections[s.id].error} | |`);
  out.push('');
  const missed = SECTIONS.flatMap((section) => {
    const data = results.sections[section.id];
    return data && !data.error ? section.module.targets(data).filter((t) => !t.met) : [];
  });
  if (missed.length > 0) out.push('Where a target is missed, [*Missed targets*](#missed-targets) has the profile, what bounds it and the fix.', '');
  for (const section of SECTIONS) {
    const data = results.sections[section.id];
    if (!data) continue;
    out.push(`## ${section.title}`, '');
    if (data.error) {
      out.push(`This section failed: ${data.error}`, '');
      continue;
    }
    out.push(sectionIntro(section.id, data), '');
    out.push(section.module.render(data, { image: imageLinks[section.id] }), '');
  }
  const notes = missedTargetNotes(missed.map((t) => t.target));
  if (notes) out.push(notes, '');
  out.push('## Exact commands', '');
  out.push('Paths are relative to the repository; `node` is the Node named above. Each PID 1 command runs as `unshare --pid --fork --mount-proc …`, ');
  out.push('inside a new pids cgroup where said (`sh -c \'echo $$ > <cgroup>/cgroup.procs && exec "$@"\' sh …`).', '');
  for (const section of SECTIONS) {
    const data = results.sections[section.id];
    if (!data || data.error) continue;
    out.push(`${section.title}:`, '', '```sh', ...commandsOf(section.id, data).map(shorten), '```', '');
  }
  return `${out.join('\n').trim()}\n`;
}

/**
 * bench/report/missed-targets.md, written by hand from profiles: its introduction and the
 * subsection of each target this run missed (a subsection's heading is the target's text).
 */
function missedTargetNotes(missed) {
  const file = join(ROOT, 'bench/report/missed-targets.md');
  if (missed.length === 0 || !existsSync(file)) return undefined;
  const [intro, ...parts] = readFileSync(file, 'utf8')
    .trim()
    .split(/\n(?=### )/);
  const plain = (text) => text.replaceAll('`', '').trim().toLowerCase();
  const kept = parts.filter((part) => missed.some((target) => plain(part.split('\n')[0].slice(4)) === plain(target)));
  return [intro, ...kept].join('\n').trim();
}

function sectionIntro(id, data) {
  switch (id) {
    case 'idle':
      return (
        `Each init as PID 1 of its own pid namespace and pids cgroup (\`pids.max\` ${data.pidsMax}, so that the init polls \`pids.current\` as in a container), ` +
        `with N processes in the namespace: the init, its child and N − 2 sleepers. The three inits run at the same time; after every process is there and ` +
        `a few seconds more, ${data.windowSeconds} s of the init's CPU time (utime + stime of all its threads, /proc/PID/stat) as a share of one core, ` +
        'its RSS and its tasks (medians of samples every 5 s).'
      );
    case 'scan':
      return (
        "The init's own scanner (`ProcScanner` of `src/proc/read-snapshot.ts`, bundled from src/), timed inside a pid namespace that holds exactly N processes " +
        '(`sleep`, each with its own command line), once every process is older than 2 s (so that the cached scanner keeps its command line). ' +
        '*Cold*: a new scanner reads every `/proc/PID/stat` and `cmdline`. *Cached*: stat only, command lines from the cache, as on every scan of a settled container. ' +
        'Rounds interleave the kinds.'
      );
    case 'pid1':
      return (
        'Each init as real PID 1 (`unshare --pid --fork --mount-proc`). *Reap*: `bench/report/reap-orphans.cjs` makes the orphans (`sleep` reparented to PID 1), ' +
        "SIGKILLs them at once and times until PID 1 has none left, alive or zombie (it polls `/proc/1/task/*/children`). *SIGUSR1 to the child*: from `kill()` on PID 1 to the child's handler " +
        '(`bench/report/signal-stamp.cjs` stamps the same monotonic clock). *TERM to exit*: from TERM to PID 1 until the namespace is gone. ' +
        "*Start-up*: from spawning `unshare` until the child, `bash -c 'echo $EPOCHREALTIME'`, runs."
      );
    case 'storm':
      return (
        `A real pids cgroup with \`pids.max\` ${data.pidsMax}, each contender as PID 1 of its own pid namespace. The app is the MetaMCP-like simulator ` +
        '(`test/fixtures/leak-sim`) with its server pool and crash accounting (`--max-attempts 1000`, as the README advises): client sessions arrive at the rate shown, ' +
        "each lists tools and calls `echo` through the pool, and none is ever closed (the leak); each session's first use of the server launches an `npx` tree of " +
        "23 tasks (launcher 11, `sh` 1, server 11). *metamcp-init* runs with the Dockerfile's flags; the *seed loop* is `bench/seed-kill-loop.sh` " +
        `(MAX_PROCESSES ${data.seedMaxProcesses}, \`ps aux | grep | kill -9\`, every 30 s or every 1 s), started beside the app in the same cgroup and pid namespace under tini, ` +
        'so its own forks count against `pids.max`; *no guard* is tini alone. `pids.current` is read every 20 ms. *EAGAIN*: spawns of `npx` the app saw fail; ' +
        '*aborted*: launchers that died of SIGABRT (Node could not start a thread); *could not fork*: launchers whose `sh` spawn failed; *crashes*: exits the app did ' +
        `not ask for (each a step to ERROR at MetaMCP's default \`MCP_MAX_ATTEMPTS\` 1). *Served*: sessions that got tools and their echo within ${data.rows[0].sessionTimeoutMs / 1000} s. ` +
        "*Cap exceeded → first TERM/KILL*: from the contender's own trigger (the init: `pids.current` reaching its high mark; the seed loop: more than " +
        `${data.seedMaxProcesses} processes matching its pattern) to its first signal. One run per contender and rate.`
      );
    default:
      return '';
  }
}

async function draw(results, dest) {
  const links = {};
  const link = (file) => relative(dirname(dest.markdown), file);
  const scanData = results.sections.scan;
  if (scanData && !scanData.error) {
    const file = join(dest.images, 'bench-scan-cost.svg');
    const last = scanData.rows.at(-1);
    const per = (ms) => sig((ms * 1000) / last.processes, 2);
    const title =
      `One /proc scan against the number of processes: at ${last.processes} processes ${per(last.cached.median)} ms per 1000 cached, ` +
      `${per(last.cold.median)} cold, ${per(last.floor.median)} for the system calls alone, against a target of 10; from ${scanData.rows[0].processes} processes it grows as N^${sig(scan.growth(scanData.rows, 'cached'), 2)} (1: linear).`;
    await writeSvg(scanSpec(scan.plotData(scanData), { targetMsPer1000: 10 }), file, title);
    links.scan = link(file);
  }
  const stormData = results.sections.storm;
  if (stormData && !stormData.error) {
    const file = join(dest.images, 'bench-storm-pids.svg');
    const initRow = stormData.rows.find((r) => r.contender === 'metamcp-init');
    const highMark = Number(/≥ (\d+)/.exec(initRow?.cap ?? '')?.[1]) || undefined;
    const contenders = [...new Set(stormData.rows.map((r) => r.contender))];
    const rates = [...new Set(stormData.rows.map((r) => r.rate))];
    const title =
      `pids.current during a leak storm in a cgroup with pids.max ${stormData.pidsMax}, share of the time at the limit: ` +
      rates
        .map(
          (rate) =>
            `at ${rate} sessions a second ${stormData.rows
              .filter((r) => r.rate === rate)
              .map((r) => `${r.contender} ${Math.round((100 * r.samplesAtLimit) / Math.max(1, r.samples))}%`)
              .join(', ')}`,
        )
        .join('; ') +
      '.';
    await writeSvg(stormSpec(storm.plotData(stormData), { pidsMax: stormData.pidsMax, highMark, contenders, seconds: stormData.rows[0].seconds }), file, title);
    links.storm = link(file);
  }
  return links;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dest = destination(args);
  let results;
  if (args.render) {
    results = JSON.parse(readFileSync(args.render, 'utf8'));
  } else {
    if (process.getuid?.() !== 0) throw new Error('run as root: the inits run as PID 1 of new pid namespaces, in new cgroups');
    if (!existsSync(BUNDLE)) throw new Error(`no bundle at ${BUNDLE}: run npm run build first (npm run bench does)`);
    cleanUpOnSignals();
    const references = ensureReferences();
    results = { quick: args.quick, machine: machine(), references, initArgv: initArgv(), sections: {} };
    for (const section of SECTIONS) {
      if (args.only && !args.only.includes(section.id)) continue;
      const started = Date.now();
      try {
        const data = await section.module.run({ quick: args.quick });
        checkFigures(section.id, data);
        results.sections[section.id] = { ...data, seconds: Math.round((Date.now() - started) / 1000) };
      } catch (error) {
        say(`${section.id} failed: ${error.stack ?? error}`);
        results.sections[section.id] = { error: String(error.message ?? error).split('\n')[0] };
      } finally {
        await cleanUp();
      }
      say(`${section.id}: ${Math.round((Date.now() - started) / 1000)} s`);
    }
    results.machine.loadEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
    mkdirSync(dirname(dest.results), { recursive: true });
    writeFileSync(dest.results, `${JSON.stringify(results, null, 1)}\n`);
  }
  const links = await draw(results, dest);
  writeFileSync(dest.markdown, markdown(results, { imageLinks: links }));
  for (const section of SECTIONS) {
    const data = results.sections[section.id];
    if (!data || data.error) continue;
    for (const t of section.module.targets(data)) say(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.figure}`);
  }
  say(
    `wrote ${dest.markdown}${Object.values(links).length ? ` and ${Object.values(links).length} pictures in ${dest.images}` : ''}; figures in ${args.render ?? dest.results}`,
  );
  const failed = Object.entries(results.sections).filter(([, data]) => data.error);
  if (failed.length > 0) {
    say(`sections that failed: ${failed.map(([id, data]) => `${id} (${data.error})`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch(async (error) => {
  say(`failed: ${error.stack ?? error}`);
  await cleanUp();
  process.exitCode = 1;
});
