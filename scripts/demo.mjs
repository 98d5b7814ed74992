// The demo: runs the bundled init on four small scenes and says, in a few plain lines each,
// what just happened, from the figures the fixtures print on stdout and the init's JSON log
// lines on stderr (shown condensed, one line per entry): 300 orphans reaped; `docker stop` on
// a child that ignores TERM and left grandchildren; the exit status passing through; the
// guard stopping MCP servers leaked by a MetaMCP-like app, with `metamcp-init status` asked
// while it runs. The init runs as real PID 1 (unshare --pid) when root, else as a child
// subreaper. Exits 1 when a scene did not do what it should, so it doubles as a smoke test.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));
const node = process.execPath;
const bundle = 'dist/metamcp-init.cjs';
if (!existsSync(bundle)) {
  process.stderr.write(`demo: ${bundle} is missing: run \`npm run demo\` (it builds first) or \`npm run build\`\n`);
  process.exit(1);
}
const GRACE_S = 2;
const asPid1 = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
const prefix = asPid1 ? ['unshare', '--pid', '--fork', '--mount-proc'] : [];
const width = Math.min(process.stdout.columns || 100, 110);
const failures = [];
// The init reads METAMCP_INIT_* variables; the demo's scenes are set by their flags alone.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('METAMCP_INIT_')));

const say = (text = '') => process.stdout.write(`${text}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const quote = (arg) => (/^[\w./@:=+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
const shown = (argv) => argv.map((arg) => (arg === node ? 'node' : quote(arg.replaceAll(`${node} `, 'node ')))).join(' ');

/** Wraps a paragraph to the terminal, every line indented. */
function paragraph(text, indent = '  ') {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  say(lines.map((l) => indent + l).join('\n'));
}

/** The scene's verdict: its summary, marked ok or FAILED with what went wrong. */
function verdict(summary, problems) {
  paragraph(`${problems.length === 0 ? 'ok:' : 'FAILED:'} ${summary}`);
  for (const problem of problems) {
    paragraph(`- ${problem}`, '    ');
    failures.push(`scene ${sceneNumber}: ${problem}`);
  }
}

// One init log line, condensed: the message and the few figures that say what it did.
const STARTUP_LINES = new Set(['no pids limit found: the pids headroom rule is off', 'no memory limit found: the memory headroom rule is off', 'guard on']);
function condense(entry) {
  const { msg } = entry;
  if (msg === 'started main child')
    return `${msg}: pid ${entry.childPid}; the init is ${entry.subreaper ? `pid ${entry.initPid}, a child subreaper` : `PID ${entry.initPid}`}`;
  if (msg === 'serving metrics, health and status') return `${msg} on ${entry.listen}`;
  if (msg === 'shutting down: grace period started') return `${msg}: ${entry.signal}, grace ${seconds(entry.graceMs)}`;
  if (msg === 'main child exited; nothing left, exiting') {
    const how = entry.signal ? `killed by ${entry.signal}` : `exit code ${entry.code}`;
    const stopped = entry.termed + entry.killed > 0 ? `TERM to ${entry.termed}, KILL to ${entry.killed}, ` : '';
    return `${msg}: child ${how}; ${stopped}${entry.left} left; ${entry.reaped} reaped`;
  }
  if (/^(stopping|would stop) MCP instance/.test(msg)) return `${msg}: launcher ${entry.launcherPid}, ${seconds(entry.ageMs)} old: ${entry.why}`;
  if (msg === 'stopped MCP instance') {
    return `${msg} (${entry.reason}): launcher ${entry.launcherPid}: TERM to ${entry.termed}, KILL to ${entry.killed}, ${entry.left} left, in ${seconds(entry.tookMs)}`;
  }
  return entry.err?.message ? `${msg}: ${entry.err.message}` : msg;
}

/**
 * Starts the init (JSON logs) on a command and prints, as they come, its log lines and the
 * child's stdout lines. Returns the scene: its lines, a way to wait for one, its exit.
 */
function startInit({ initArgs = [], command, showStartup = false, onStdout = (line) => line }) {
  const initArgv = ['--log-format', 'json', '--grace', `${GRACE_S}s`, ...initArgs, '--', ...command];
  say(`$ metamcp-init ${shown(initArgv)}`);
  const argv = [...prefix, node, bundle, ...initArgv];
  const startedAt = Date.now();
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  const scene = { proc, startedAt, logs: [], stdout: [], listeners: new Set(), problems: [] };
  const at = (ms) => `+${(Math.max(0, ms - startedAt) / 1000).toFixed(2)}s`.padStart(7);
  const changed = () => {
    for (const listener of scene.listeners) listener();
  };
  createInterface({ input: proc.stderr }).on('line', (line) => {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      say(`  (stderr)      ${line}`);
      // A stop must never open a debugger in what it stops (Node prints this when one listens).
      if (/Debugger (listening|attached)/.test(line)) scene.problems.push(`a debugger opened in a process of the scene: ${line}`);
      return;
    }
    scene.logs.push(entry);
    if (showStartup || !STARTUP_LINES.has(entry.msg)) say(`  init  ${at(Date.parse(entry.time))}  ${entry.level.toUpperCase().padEnd(5)} ${condense(entry)}`);
    changed();
  });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    scene.stdout.push(line);
    const text = onStdout(line);
    if (text) say(`  child ${at(Date.now())}        ${text}`);
    changed();
  });
  scene.exited = new Promise((resolve) => {
    proc.on('close', (code, signal) => resolve({ status: code ?? 128, signal, at: Date.now() }));
  });
  scene.log = (msg) => scene.logs.find((entry) => entry.msg === msg);
  scene.note = (text) => say(`  demo  ${at(Date.now())}        ${text}`);
  return scene;
}

/** Resolves true once test() holds, false at the deadline or when the init has exited. */
function waitFor(scene, test, ms) {
  return new Promise((resolve) => {
    const done = (ok) => {
      clearTimeout(timer);
      scene.listeners.delete(check);
      resolve(ok);
    };
    const check = () => test() && done(true);
    const timer = setTimeout(() => done(test()), ms);
    scene.listeners.add(check);
    scene.exited.then(() => done(test()));
    check();
  });
}

/** Sends a signal to the init itself (unshare's child when it is PID 1 of a namespace); false when it is gone. */
function signalInit(scene, signal) {
  try {
    let pid = scene.proc.pid;
    if (asPid1) pid = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0]);
    return pid > 0 && process.kill(pid, signal);
  } catch {
    return false;
  }
}

/** What `docker stop` does: TERM to the init, then the time until it has exited. */
async function dockerStop(scene) {
  const sentAt = Date.now();
  scene.note('docker stop: TERM to the init');
  if (!signalInit(scene, 'SIGTERM')) scene.problems.push('the init was gone before docker stop');
  const exit = await finish(scene, 30_000);
  return { ...exit, tookMs: exit.at - sentAt };
}

/** The init's exit; KILLs it if it is not gone within ms. */
async function finish(scene, ms) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  const exit = await Promise.race([scene.exited, late]);
  clearTimeout(timer);
  if (exit) return exit;
  scene.problems.push(`the init did not exit within ${seconds(ms)}: killed`);
  signalInit(scene, 'SIGKILL');
  return scene.exited;
}

let sceneNumber = 0;
function heading(n, title) {
  sceneNumber = n;
  say();
  say(`━━ ${n}. ${title}`);
}

function metamcpInit(args) {
  return new Promise((resolve) => {
    execFile(node, [bundle, ...args], { timeout: 10_000 }, (error, stdout, stderr) => resolve({ ok: !error, stdout, stderr, error }));
  });
}

// ── The scenes ──────────────────────────────────────────────────────────────────────────

async function orphans() {
  heading(1, '300 orphans');
  const count = 300;
  paragraph(
    `The child runs a shell that starts ${count} \`sleep 1\` in the background and exits at once: the sleeps become orphans, and only the init can reap them. The child then watches /proc and prints what it finds, as JSON.`,
  );
  const scene = startInit({ command: [node, 'test/fixtures/orphans.js', String(count), '1'], showStartup: true });
  const exit = await finish(scene, 30_000);
  let report;
  try {
    report = JSON.parse(scene.stdout.find((line) => line.startsWith('{')));
  } catch {}
  const end = scene.log('main child exited; nothing left, exiting');
  const { problems } = scene;
  if (!report) problems.push('the child printed no report');
  else if (report.left > 0) problems.push(`${report.left} of the orphans were still there (${report.zombies} zombies)`);
  if (!end) problems.push('the init did not log its exit');
  else if (end.left !== 0) problems.push(`the init left ${end.left} processes`);
  else if (end.reaped === 0) problems.push('no orphan reached the init: the scene tested nothing');
  if (exit.status !== 0) problems.push(`exit status ${exit.status}, not 0`);
  // A sleep that ends before its shell exits (on a busy machine) is reaped by the shell and never reaches the init.
  const reaped = end?.reaped ?? 0;
  const orphaned = reaped < count && report?.left === 0 ? reaped : count;
  const early = orphaned < count ? ` (its shell reaped the other ${count - orphaned} sleeps itself: they ended before it exited)` : '';
  const seenZombies = report?.maxZombies ? `the child saw at most ${plural(report.maxZombies, 'zombie')} at once` : 'the child never saw a zombie';
  const summary = report
    ? `${orphaned} orphans were left behind by the child${early}. The init reaped ${reaped >= orphaned ? `all ${orphaned}` : `only ${reaped}`}: ${seenZombies}, and ${report.left === 0 ? `all were gone within ${report.msAfterLastExit} ms of the last sleep's end` : `${report.left} are still there`}. Exit status ${exit.status}.`
    : 'The child did not say what it found.';
  verdict(summary, problems);
}

async function dockerStopOnStubbornChild() {
  heading(2, '`docker stop` on a child that ignores TERM and left grandchildren');
  paragraph(
    `The child starts two grandchildren and leaves them behind: one ignores TERM, one escapes into its own session (setsid). Then the child itself ignores TERM. The demo then does what \`docker stop\` does: TERM to the init.`,
  );
  let pids;
  const scene = startInit({
    command: ['sh', '-c', `${node} test/fixtures/leave-grandchildren.js </dev/null; exec ${node} test/fixtures/ignore-term.js`],
    onStdout: (line) => {
      try {
        pids = JSON.parse(line);
        return `${line}   (the grandchildren's pids)`;
      } catch {
        return line;
      }
    },
  });
  const { problems } = scene;
  const ready = await waitFor(scene, () => pids && scene.stdout.some((line) => line.startsWith('ready')), 15_000);
  if (!ready) problems.push('the child did not start as it should');
  const stop = await dockerStop(scene);
  const end = scene.log('main child exited; nothing left, exiting');
  const grandchildren = pids ? Object.keys(pids).length : 0;
  if (!end) problems.push('the init did not log its exit');
  else if (end.left !== 0) problems.push(`${end.left} processes were left`);
  if (stop.status !== 137) problems.push(`exit status ${stop.status}, not 137 (128 + KILL)`);
  if (stop.tookMs < GRACE_S * 1000) problems.push(`the init ended before the ${GRACE_S} s grace`);
  const who = pids ? `pid ${pids.stubborn}, which ignores TERM, and pid ${pids.escaped}, which escaped with setsid` : 'pids unknown';
  const killed = end?.killed === grandchildren + 1 ? `all ${end.killed} (the child and its ${grandchildren} grandchildren)` : `${end?.killed ?? 0} processes`;
  const summary = `The child left ${plural(grandchildren, 'grandchild').replace('grandchilds', 'grandchildren')} (${who}) and ignored TERM. The init forwarded TERM, waited the ${GRACE_S} s grace, then killed ${killed} with KILL; ${end?.left === 0 ? 'none is left' : `${end?.left} are left`}. docker stop took ${seconds(stop.tookMs)}; the init's exit status is ${stop.status}${stop.status === 137 ? ' (128 + 9: the child died of KILL)' : ''}.`;
  verdict(summary, problems);
}

async function exitStatus() {
  heading(3, 'The exit status passes through');
  const scene = startInit({ command: ['sh', '-c', 'exit 42'] });
  const exit = await finish(scene, 15_000);
  const end = scene.log('main child exited; nothing left, exiting');
  const { problems } = scene;
  if (exit.status !== 42) problems.push(`the init exited ${exit.status}, not 42`);
  verdict(`The child exited with status ${end?.code ?? '?'}; the init exited with ${exit.status}.`, problems);
}

async function guard() {
  heading(4, 'The guard: MCP servers leaked by a MetaMCP-like app');
  const neverClosed = 4;
  const closeKillsLauncher = 2;
  const cap = 2;
  paragraph(
    `A MetaMCP-like app (test/fixtures/leak-sim) opens ${neverClosed + closeKillsLauncher} sessions, each launching its own \`npx -y @modelcontextprotocol/server-everything\` (simulated; these servers ignore TERM and the end of stdin): ${neverClosed} sessions are never closed, and ${closeKillsLauncher} are closed by a TERM to the launcher only, which leaves the server running with nobody to talk to. The guard may keep ${cap} instances of one command line; its delays are cut to 1-2 s for the demo. This app counts no crashes (a real MetaMCP does): \`--app-tolerates-crashes\` says so, and the guard may trim duplicates even where a stop is a crash; without it, it trims only what costs the app nothing.`,
  );
  const scene = startInit({
    initArgs: [
      '--max-per-command',
      String(cap),
      '--app-tolerates-crashes',
      '--crash-budget',
      'unlimited',
      '--orphan-grace',
      '1s',
      '--idle-after',
      '1s',
      '--start-grace',
      '2s',
      '--stop-grace',
      '1s',
      '--metrics-listen',
      '127.0.0.1:0',
    ],
    command: [
      node,
      'test/fixtures/leak-sim/metamcp-like.js',
      '--sessions-never-closed',
      String(neverClosed),
      '--close-kills-launcher',
      String(closeKillsLauncher),
      '--server-flags',
      '--ignore-eof --ignore-term',
    ],
    onStdout: (line) => (line === 'scenario-done' ? 'scenario-done   (the app has opened its sessions and closed two)' : line),
  });
  const { problems } = scene;
  const expectedStops = neverClosed + closeKillsLauncher - cap;
  const stopped = () => scene.logs.filter((entry) => entry.msg === 'stopped MCP instance');
  const acted = await waitFor(scene, () => stopped().length >= expectedStops, 45_000);
  if (!acted) problems.push(`the guard made ${stopped().length} stops in 45 s, not ${expectedStops}`);

  // The table should show the guard's work done: wait for a scan that began after the last stop ended.
  const listen = scene.log('serving metrics, health and status')?.listen;
  let table = '';
  let status;
  if (!listen) problems.push('the init did not say where it serves its status');
  else {
    const lastStopAt = Math.max(0, ...stopped().map((entry) => Date.parse(entry.time)));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const json = await metamcpInit(['status', '--json', '--address', listen]);
      try {
        status = JSON.parse(json.stdout);
      } catch {
        status = undefined;
      }
      const scannedAfter = status && status.guard.lastScanAtMs - status.guard.lastScanDurationMs > lastStopAt;
      if (scannedAfter || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    scene.note(`$ metamcp-init status --address ${listen}   (its table is at the end)`);
    const text = await metamcpInit(['status', '--address', listen]);
    if (text.ok) table = text.stdout;
    else problems.push(`metamcp-init status failed: ${text.stderr.trim() || text.error.message}`);
    if (!status) problems.push('metamcp-init status --json gave no report');
  }
  const stop = await dockerStop(scene);
  const end = scene.log('main child exited; nothing left, exiting');

  const decisions = scene.logs.filter((entry) => /^stopping MCP instance/.test(entry.msg));
  const seen = Math.max(0, ...decisions.map((entry) => entry.instancesOfKey));
  const byReason = new Map();
  for (const entry of decisions) byReason.set(entry.reason, [...(byReason.get(entry.reason) ?? []), entry]);
  const range = (entries) => {
    const ages = entries.map((entry) => entry.ageMs / 1000).sort((a, b) => a - b);
    const [low, high] = [ages[0].toFixed(1), ages.at(-1).toFixed(1)];
    return low === high ? `${low} s` : `${low}-${high} s`;
  };
  const because = {
    orphan: (n) => `${plural(n, 'orphan')}, whose launcher${n === 1 ? ' was' : 's were'} gone`,
    duplicate: (n) => `${plural(n, 'duplicate')} over the cap of ${cap}, idle while no instance of the server was in use`,
  };
  const parts = [...byReason].map(([reason, entries]) => {
    const pids = entries.map((entry) => entry.launcherPid);
    const launchers = pids.length === 1 ? `launcher ${pids[0]}` : `launchers ${pids.slice(0, -1).join(', ')} and ${pids.at(-1)}`;
    return `${because[reason]?.(entries.length) ?? `${entries.length} for ${reason}`} (${launchers}, ${range(entries)} after launch)`;
  });
  const failed = stopped().filter((entry) => entry.failed > 0 || entry.left > 0);
  const allKilled = stopped().length > 0 && stopped().every((entry) => entry.killed > 0);
  const remaining = status?.guard.instances.length;
  const orphanedLeft = status?.guard.instances.filter((view) => view.orphaned).length;
  if (failed.length > 0) problems.push(`${failed.length} stops left processes behind`);
  if (status && (remaining !== cap || orphanedLeft > 0)) problems.push(`${remaining} instances (${orphanedLeft} orphaned) were running, not the cap of ${cap}`);
  if (!end) problems.push('the init did not log its exit');
  else if (end.left !== 0) problems.push(`${end.left} processes were left at shutdown`);
  if (stop.status !== 0) problems.push(`exit status ${stop.status}, not 0`);

  const processes = (n) => `${n} process${n === 1 ? '' : 'es'}`;
  const sentences = [
    `The guard saw ${seen} instances of the server and stopped ${decisions.length}: ${parts.join(', and ')}.`,
    allKilled ? `Each server ignored TERM and got KILL after the 1 s stop grace.` : '',
    status
      ? `After that, ${plural(remaining, 'instance')} ran${remaining === cap ? ' (the cap)' : ''}, ${orphanedLeft === 0 ? 'none' : orphanedLeft} orphaned.`
      : '',
    end
      ? `At docker stop the app ${end.signal ? `was killed by ${end.signal}` : `closed its sessions and exited ${end.code}`}; the init sent TERM to the ${processes(end.termed)} left, then KILL to the ${end.killed} still there after the ${GRACE_S} s grace; ${end.left === 0 ? 'none is left' : `${end.left} are left`}. docker stop took ${seconds(stop.tookMs)}; exit status ${stop.status}.`
      : '',
  ];
  verdict(sentences.filter(Boolean).join(' '), problems);
  return table;
}

// ── The run ─────────────────────────────────────────────────────────────────────────────

say(`metamcp-init demo: the init runs ${asPid1 ? 'as real PID 1 (unshare --pid), as in a container' : 'as a child subreaper (run as root for real PID 1)'}.`);
paragraph(
  "Each scene shows the command, the init's log (JSON lines on stderr, condensed to one line each, timed from the start; its start-up lines only in scene 1), what the child printed, and then what happened.",
  '',
);
await orphans();
await dockerStopOnStubbornChild();
await exitStatus();
const table = await guard();
say();
if (table) {
  say('━━ `metamcp-init status` in scene 4, after the guard acted and before docker stop:');
  say(table.trimEnd());
}
say();
say('Next: README.md, "Docker", puts the init in front of MetaMCP; "Metrics, health and status" gets this table from a container.');
if (failures.length > 0) {
  say();
  say(`FAILED: ${plural(failures.length, 'check')}:`);
  for (const failure of failures) paragraph(`- ${failure}`);
  process.exit(1);
}
