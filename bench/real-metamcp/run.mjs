#!/usr/bin/env node
// One measurement of metamcp-init against the real MetaMCP backend: the backend
// runs under the init as PID 1 of its own PID namespace, inside a fresh cgroup v1
// pids group (and memory group, with --memory-max), while a client leaks one MCP session every --every for --for.
// Prints one Markdown table row and writes the raw data under --out.
// Needs root, a checkout prepared by setup.sh, and nothing else on port 12009.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PORT = 12009; // hard-coded in MetaMCP's backend
const PIDS_ROOT = '/sys/fs/cgroup/pids';
const MEMORY_ROOT = '/sys/fs/cgroup/memory';
const MIB = 1024 ** 2;

const USAGE = `usage: node run.mjs --metamcp <checkout> --init <metamcp-init.cjs> [--env <profile.env>] [--pids-max 200]
  [--memory-max <MiB>] [--every 3s] [--for 90s] [--close-share 0] [--max-attempts 1000|default] [--label <text>]
  [--out <dir>] [--session-timeout 45s] [--settle 10s] [--stop-timeout 40s] [-- <init options...>]`;

function fail(message) {
  console.error(message);
  console.error(USAGE);
  process.exit(2);
}

function parseDuration(text, name) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(text));
  if (!match) fail(`${name}: expected a duration such as 500ms, 3s or 2m, got "${text}"`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60000 }[match[2] ?? 's'];
}

function parseCount(text, name) {
  if (!/^\d+$/.test(String(text)) || Number(text) < 1) fail(`${name}: expected a positive integer, got "${text}"`);
  return Number(text);
}

function parseShare(text, name) {
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(String(text)) || value > 1) fail(`${name}: expected a share from 0 to 1, got "${text}"`);
  return value;
}

function parseArgs(argv) {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const initOptions = dash === -1 ? [] : argv.slice(dash + 1);
  const values = {};
  for (let i = 0; i < own.length; i += 1) {
    const flag = own[i];
    if (flag === '-h' || flag === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    if (!flag.startsWith('--') || i + 1 >= own.length) fail(`unexpected argument "${flag}"`);
    values[flag.slice(2)] = own[++i];
  }
  const known = [
    'metamcp',
    'init',
    'env',
    'pids-max',
    'memory-max',
    'every',
    'for',
    'close-share',
    'max-attempts',
    'label',
    'out',
    'session-timeout',
    'settle',
    'stop-timeout',
  ];
  for (const key of Object.keys(values)) if (!known.includes(key)) fail(`unknown option --${key}`);
  if (!values.metamcp) fail('--metamcp is required');
  if (!values.init) fail('--init is required');
  return {
    metamcp: path.resolve(values.metamcp),
    init: path.resolve(values.init),
    pidsMax: parseCount(values['pids-max'] ?? '200', '--pids-max'),
    memoryMaxBytes: values['memory-max'] === undefined ? undefined : parseCount(values['memory-max'], '--memory-max') * MIB,
    everyMs: parseDuration(values.every ?? '3s', '--every'),
    forMs: parseDuration(values.for ?? '90s', '--for'),
    // `default`: no config row, so MetaMCP's own fallback (1 in v2.4.x, 3 in the newer pool).
    maxAttempts: values['max-attempts'] === 'default' ? 'default' : parseCount(values['max-attempts'] ?? '1000', '--max-attempts'),
    closeShare: parseShare(values['close-share'] ?? '0', '--close-share'),
    profile: values.env,
    label: values.label ?? (initOptions.length ? initOptions.join(' ') : 'defaults'),
    out: path.resolve(values.out ?? 'bench-results'),
    sessionTimeoutMs: parseDuration(values['session-timeout'] ?? '45s', '--session-timeout'),
    settleMs: parseDuration(values.settle ?? '10s', '--settle'),
    stopTimeoutMs: parseDuration(values['stop-timeout'] ?? '40s', '--stop-timeout'),
    initOptions,
  };
}

// metamcp.env, then a profile (--env) over it: KEY=VALUE lines, values optionally in single
// quotes; the environment wins over both.
function loadEnv(profile) {
  const env = {};
  const read = (file) => {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const at = line.indexOf('=');
      let value = line.slice(at + 1);
      if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
      env[line.slice(0, at)] = value;
    }
  };
  read(path.join(HERE, 'metamcp.env'));
  if (profile) read(fs.existsSync(profile) ? profile : path.join(HERE, profile));
  for (const key of Object.keys(env)) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

// BENCH_SERVERS: `name=package [args]` entries separated by `;` (setup.sh made one row each).
function benchServers(env) {
  return env.BENCH_SERVERS.split(';')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => entry.slice(0, entry.indexOf('=')));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const readText = (file) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};
const loadAverage = () => (readText('/proc/loadavg') ?? '').split(' ').slice(0, 3).join(' ');

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function healthy() {
  try {
    const response = await fetch(`http://localhost:${PORT}/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

// ---- the database (MetaMCP's own pg client) ----

async function withDb(requireFromBackend, env, body) {
  const { Client } = requireFromBackend('pg');
  const db = new Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  try {
    return await body(db);
  } finally {
    await db.end();
  }
}

// Every bench server back out of ERROR, and MCP_MAX_ATTEMPTS set (or its row removed, for
// MetaMCP's own default); returns the servers by uuid.
async function prepareDb(db, names, maxAttempts) {
  const servers = {};
  for (const name of names) {
    const row = await db.query("update mcp_servers set error_status = 'NONE' where name = $1 and user_id is null returning uuid", [name]);
    if (row.rowCount !== 1) throw new Error(`no public server "${name}" in mcp_servers: run setup.sh first`);
    servers[row.rows[0].uuid] = name;
  }
  if (maxAttempts === 'default') await db.query("delete from config where id = 'MCP_MAX_ATTEMPTS'");
  else
    await db.query(
      `insert into config (id, value, description) values ('MCP_MAX_ATTEMPTS', $1, 'Maximum number of crash attempts before marking MCP server as ERROR')
       on conflict (id) do update set value = excluded.value, updated_at = now()`,
      [String(maxAttempts)],
    );
  return servers;
}

async function serverErrorStatuses(db, servers) {
  const statuses = {};
  for (const [uuid, name] of Object.entries(servers)) {
    const result = await db.query('select error_status from mcp_servers where uuid = $1', [uuid]);
    statuses[name] = result.rows[0]?.error_status;
  }
  return statuses;
}

// ---- the process under test ----

class Stack {
  constructor(options, env, dirs) {
    this.options = options;
    this.env = env;
    this.dirs = dirs;
    this.cgroup = path.join(PIDS_ROOT, `metamcp-bench-${process.pid}-${Date.now()}`);
    this.memoryCgroup = options.memoryMaxBytes === undefined ? undefined : path.join(MEMORY_ROOT, path.basename(this.cgroup));
    this.child = undefined; // sh, then unshare (exec)
    this.initPid = undefined; // the init: PID 1 inside, this pid outside
    this.exited = undefined;
    this.samples = { count: 0, atLimit: 0, peak: 0, firstAtLimitMs: undefined, peakMemoryBytes: 0 };
    this.sampler = undefined;
    this.stopping = false;
  }

  start(onInitLine, onBackendLine) {
    fs.mkdirSync(this.cgroup);
    fs.writeFileSync(path.join(this.cgroup, 'pids.max'), String(this.options.pidsMax));
    if (this.memoryCgroup) {
      fs.mkdirSync(this.memoryCgroup);
      fs.writeFileSync(path.join(this.memoryCgroup, 'memory.limit_in_bytes'), String(this.options.memoryMaxBytes));
    }
    const quote = (word) => `'${word.replaceAll("'", "'\\''")}'`;
    const command = ['node', this.options.init, '--log-format', 'json', ...this.options.initOptions, '--', 'node', 'dist/index.js'].map(quote).join(' ');
    const joins = [this.cgroup, this.memoryCgroup].filter(Boolean).map((dir) => `echo $$ > ${quote(path.join(dir, 'cgroup.procs'))}`);
    const script = `${joins.join(' && ')} && exec unshare --pid --fork --mount-proc ${command}`;
    this.startedMs = Date.now();
    this.child = spawn('sh', ['-c', script], {
      cwd: path.join(this.options.metamcp, 'apps', 'backend'),
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exited.then(() => {
      this.child.exitedAt = Date.now();
    });
    lines(this.child.stdout, (line) => onBackendLine('stdout', line));
    // The init's own log lines are JSON on stderr; the backend's stderr shares it.
    lines(this.child.stderr, (line) => {
      if (line.startsWith('{')) {
        try {
          const event = JSON.parse(line);
          if ('level' in event && 'msg' in event) {
            onInitLine(event, line);
            return;
          }
        } catch {
          /* not the init's */
        }
      }
      onBackendLine('stderr', line);
    });
    const limit = this.options.pidsMax;
    const current = path.join(this.cgroup, 'pids.current');
    this.sampler = setInterval(() => {
      const value = Number(readText(current));
      if (!Number.isFinite(value)) return;
      this.samples.count += 1;
      if (value > this.samples.peak) this.samples.peak = value;
      if (value >= limit) {
        this.samples.atLimit += 1;
        this.samples.firstAtLimitMs ??= Date.now() - this.startedMs;
      }
      if (this.memoryCgroup) {
        const bytes = Number(readText(path.join(this.memoryCgroup, 'memory.usage_in_bytes')));
        if (bytes > this.samples.peakMemoryBytes) this.samples.peakMemoryBytes = bytes;
      }
    }, 20);
  }

  async findInit() {
    for (let i = 0; i < 200 && this.initPid === undefined; i += 1) {
      const children = readText(`/proc/${this.child.pid}/task/${this.child.pid}/children`)?.trim();
      if (children) {
        this.initPid = Number(children.split(' ')[0]);
        this.initStart = startTime(this.initPid);
        this.childStart = startTime(this.child.pid);
      } else await sleep(25);
    }
    if (this.initPid === undefined) throw new Error('the init did not start under unshare');
  }

  pidsEvents() {
    const text = readText(path.join(this.cgroup, 'pids.events')) ?? '';
    return Number(/max (\d+)/.exec(text)?.[1] ?? NaN);
  }

  // Processes the kernel's OOM killer took in our memory cgroup (undefined without one).
  oomKills() {
    if (!this.memoryCgroup) return undefined;
    return Number(/oom_kill (\d+)/.exec(readText(path.join(this.memoryCgroup, 'memory.oom_control')) ?? '')?.[1] ?? NaN);
  }

  // Everything still in our cgroup: only processes this run started are there.
  cgroupPids() {
    return (readText(path.join(this.cgroup, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  async stop() {
    const result = { termToExitMs: undefined, killed: false };
    this.stopping = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      const sentMs = Date.now();
      // unshare --fork blocks TERM itself: signal the init, PID 1 of the namespace.
      if (this.initPid && startTime(this.initPid) === this.initStart)
        try {
          process.kill(this.initPid, 'SIGTERM');
        } catch {
          /* gone */
        }
      const done = await Promise.race([this.exited.then(() => true), sleep(this.options.stopTimeoutMs).then(() => false)]);
      if (done) result.termToExitMs = Date.now() - sentMs;
      else {
        result.killed = true;
        this.killAll();
        await Promise.race([this.exited, sleep(5000)]);
      }
    }
    this.removeCgroup();
    return result;
  }

  // Synchronous so that it can run from an 'exit' handler. Killing the
  // namespace's PID 1 makes the kernel kill every process in the namespace.
  // A pid is signalled only while it is still the process this run started.
  killAll() {
    if (this.initPid && startTime(this.initPid) === this.initStart)
      try {
        process.kill(this.initPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    if (this.child?.pid && this.child.exitCode === null && this.child.signalCode === null)
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    for (const pid of this.cgroupPids())
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  }

  removeCgroup() {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = undefined;
    if (!fs.existsSync(this.cgroup)) return;
    for (let i = 0; i < 50; i += 1) {
      try {
        fs.rmdirSync(this.cgroup);
        if (this.memoryCgroup && fs.existsSync(this.memoryCgroup)) fs.rmdirSync(this.memoryCgroup);
        return;
      } catch {
        this.killAll();
        const until = Date.now() + 100;
        while (Date.now() < until) {
          /* a short synchronous pause: this may run at exit */
        }
      }
    }
    console.error(`could not remove ${this.cgroup}`);
  }
}

// Field 22 of /proc/PID/stat: the start time that tells a process from a later one with its pid.
function startTime(pid) {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function lines(stream, onLine) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    rest += chunk;
    for (let at = rest.indexOf('\n'); at !== -1; at = rest.indexOf('\n')) {
      onLine(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
  });
  stream.on('end', () => {
    if (rest) onLine(rest);
  });
}

// ---- the leaking client ----

// A session is served when it listed the tools of every bench server (MetaMCP names them
// `<server>__<tool>`) and its echo came back. With `close`, the client then ends the session
// as a well-behaved one does (DELETE); otherwise it is abandoned, never closed: the leak.
function makeSessionRunner(requireFromBackend, url, timeoutMs, serverNames) {
  const { Client } = requireFromBackend('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = requireFromBackend('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const leaked = []; // kept so that nothing closes them
  return async function openSession(index, startMs, { close = false } = {}) {
    const record = { index, startMs, served: false, tools: 0, servers: [], closed: close, durationMs: undefined, error: undefined };
    const begin = Date.now();
    const client = new Client({ name: 'metamcp-init-bench', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url));
    leaked.push({ client, transport });
    const requestOptions = { timeout: timeoutMs };
    try {
      await withTimeout(
        (async () => {
          await client.connect(transport, requestOptions);
          const { tools } = await client.listTools(undefined, requestOptions);
          record.tools = tools.length;
          record.servers = serverNames.filter((name) => tools.some((tool) => tool.name.startsWith(`${name}__`)));
          const echo = tools.find((tool) => tool.name.endsWith('echo'));
          if (!echo) throw new Error(`no echo tool among ${tools.length} tools`);
          const message = `bench ${index}`;
          const result = await client.callTool({ name: echo.name, arguments: { message } }, undefined, requestOptions);
          const text = (result.content ?? []).map((part) => part.text ?? '').join(' ');
          if (result.isError || !text.includes(message)) throw new Error(`echo answered ${JSON.stringify(text).slice(0, 200)}`);
          const missing = serverNames.filter((name) => !record.servers.includes(name));
          if (missing.length > 0) throw new Error(`no tools of ${missing.join(', ')}`);
          record.served = true;
        })(),
        timeoutMs,
        `session ${index}`,
      );
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
    record.durationMs = Date.now() - begin;
    if (close) {
      try {
        await withTimeout(transport.terminateSession(), 5000, `closing session ${index}`);
        await client.close();
      } catch (error) {
        record.closeError = error instanceof Error ? error.message : String(error);
      }
    }
    return record;
  };
}

// Whether item i of a run gets a share: spread evenly (0.75 -> items 0, 1, 2, 4, 5, 6, ...), never random.
const takesShare = (i, share) => Math.floor((i + 1) * share) > Math.floor(i * share);

// ---- analysis ----

function summarizeStops(initEvents) {
  const stops = initEvents.filter(
    (event) => typeof event.msg === 'string' && (event.msg.includes('stopping MCP instance') || event.msg.includes('would stop MCP instance')),
  );
  const byReason = {};
  const timesByKey = {};
  for (const stop of stops) {
    const reason = stop.reason ?? 'unknown';
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    const time = typeof stop.time === 'number' ? stop.time : Date.parse(stop.time);
    const key = stop.key ?? '?';
    timesByKey[key] ??= [];
    timesByKey[key].push(time);
  }
  let maxPerKeyPerMinute = 0;
  for (const times of Object.values(timesByKey)) {
    times.sort((a, b) => a - b);
    let from = 0;
    for (let to = 0; to < times.length; to += 1) {
      while (times[to] - times[from] >= 60000) from += 1;
      maxPerKeyPerMinute = Math.max(maxPerKeyPerMinute, to - from + 1);
    }
  }
  // How the stops ended (close-stdin: the server exited on EOF once its stdin was closed, or, from
  // builds before it, exit: the launcher exited 0 on request; interrupt: the server ended on SIGINT
  // alone; terminate; kill; survived; gone: ended before any signal), of held instances and orphans.
  const endings = { 'close-stdin': 0, interrupt: 0, terminate: 0, kill: 0, survived: 0, gone: 0, orphan: 0 };
  for (const event of initEvents) {
    if (
      typeof event.msg !== 'string' ||
      !(event.msg.startsWith('stopped MCP instance') || event.msg === 'MCP instance not stopped' || event.msg === 'MCP instance gone before it was stopped')
    )
      continue;
    if (event.reason === 'orphan') endings.orphan += 1;
    else if (event.endedBy === 'exit') endings['close-stdin'] += 1;
    else if (event.endedBy in endings) endings[event.endedBy] += 1;
  }
  const lessons = initEvents
    .filter((event) => event.msg === 'learnt how the app takes a stop of this key')
    .map((event) => ({ key: event.key, interrupt: event.interrupt, stdinClose: event.stdinClose ?? event.exit, crashFreesKey: event.crashFreesKey }));
  const demand = initEvents
    .filter((event) => typeof event.msg === 'string' && event.msg.startsWith('the app asks for more than'))
    .map((event) => ({ limit: event.limit, needed: event.needed, demand: event.demand }));
  const loops = initEvents.filter(
    (event) => typeof event.msg === 'string' && event.msg.startsWith('instances of one command are stopped and started over'),
  ).length;
  return { total: stops.length, byReason, maxPerKeyPerMinute, dryRun: stops.some((stop) => stop.dryRun), endings, lessons, demand, loops };
}

// What MetaMCP prints (process-managed-transport.ts, server-error-tracker.ts).
function summarizeBackend(backendLines, servers = {}) {
  const crashes = [];
  let counted = 0;
  let markedError = 0;
  const countedByServer = {};
  for (const { line } of backendLines) {
    const crash = /Process crashed with code: (\S+), signal: (\S+)/.exec(line);
    if (crash) crashes.push({ code: crash[1], signal: crash[2] });
    const attempt = /Server (\S+) crashed\. Attempt \d+\/\d+/.exec(line);
    if (attempt) {
      counted += 1;
      const name = servers[attempt[1]] ?? attempt[1];
      countedByServer[name] = (countedByServer[name] ?? 0) + 1;
    }
    if (/Marking as ERROR/.test(line)) markedError += 1;
  }
  const aborts = crashes.filter((crash) => crash.code === '134' || crash.signal === 'SIGABRT').length;
  const byExit = {};
  for (const crash of crashes) {
    const key = crash.signal !== 'null' ? crash.signal : `code ${crash.code}`;
    byExit[key] = (byExit[key] ?? 0) + 1;
  }
  // At the limit the backend's own spawn of npx can fail too (no process, no crash).
  const spawnFailures = backendLines.filter(({ line }) => /Error: spawn \S+ EAGAIN/.test(line)).length;
  return { processExits: crashes.length, byExit, launcherAborts: aborts, crashesCounted: counted, countedByServer, markedError, spawnFailures };
}

const COLUMNS = [
  'label',
  'init options',
  'MCP_MAX_ATTEMPTS',
  'pids.max',
  'peak pids',
  'samples at limit',
  'launcher aborts',
  'guard stops (by reason)',
  'stops ended (exit 0 on EOF / SIGINT / TERM / KILL / left to run / gone / orphans)',
  'max stops per key per minute',
  'sessions served',
  'fresh session at end served',
  'servers in ERROR at end',
  'MetaMCP crashes counted',
  'limit too small said',
  'forks refused (pids.events)',
  'load average (start / end)',
  'memory limit / peak (MiB)',
  'OOM kills',
];

function tableHeader() {
  return `| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map(() => '---').join('|')}|`;
}

// Aborts (SIGABRT, 134), then the other unasked exits and refused spawns, if any.
function launcherCell(backend) {
  const others = Object.entries(backend.byExit)
    .filter(([exit]) => exit !== 'SIGABRT' && exit !== 'code 134')
    .map(([exit, n]) => `${exit} ×${n}`);
  if (backend.spawnFailures) others.push(`spawn EAGAIN ×${backend.spawnFailures}`);
  return others.length ? `${backend.launcherAborts} (other: ${others.join(', ')})` : String(backend.launcherAborts);
}

function tableRow(r) {
  const reasons = Object.entries(r.stops.byReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const cells = [
    r.label,
    r.initOptions.length ? `\`${r.initOptions.join(' ')}\`` : '(none)',
    r.maxAttempts,
    r.pidsMax,
    r.samples.peak,
    `${r.samples.atLimit}/${r.samples.count}`,
    launcherCell(r.backend),
    `${r.stops.total}${r.stops.dryRun ? ' (dry run)' : ''}${reasons ? ` (${reasons})` : ''}`,
    `${r.stops.endings['close-stdin']} / ${r.stops.endings.interrupt} / ${r.stops.endings.terminate} / ${r.stops.endings.kill} / ${r.stops.endings.survived} / ${r.stops.endings.gone} / ${r.stops.endings.orphan}`,
    r.stops.maxPerKeyPerMinute,
    `${r.sessions.filter((s) => s.served).length}/${r.sessions.length}${r.closeShare > 0 ? ` (${r.sessions.filter((s) => s.closed).length} closed)` : ''}`,
    r.fresh
      ? r.fresh.served
        ? `yes (${r.fresh.servers.length}/${r.serverNames.length} servers)`
        : `no: ${r.fresh.servers.length}/${r.serverNames.length} servers (${(r.fresh.error ?? '').slice(0, 60).replaceAll('|', '/')})`
      : 'not run',
    `${Object.values(r.errorStatusAtEnd).filter((status) => status === 'ERROR').length}/${r.serverNames.length}`,
    `${r.backend.crashesCounted}${
      Object.keys(r.backend.countedByServer).length > 1
        ? ` (${Object.entries(r.backend.countedByServer)
            .map(([name, n]) => `${name} ${n}`)
            .join(', ')})`
        : ''
    }`,
    r.stops.demand.length === 0 ? 'no' : r.stops.demand.map((d) => `${d.limit}: ${d.needed}`).join(', '),
    r.forksRefused,
    `${r.loadStart} / ${r.loadEnd}`,
    r.memoryMaxBytes === undefined ? '-' : `${r.memoryMaxBytes / MIB} / ${Math.round(r.samples.peakMemoryBytes / MIB)}`,
    r.oomKills ?? '-',
  ];
  return `| ${cells.join(' | ')} |`;
}

// ---- main ----

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) fail('run.mjs needs root (cgroups, unshare)');
  const backendDir = path.join(options.metamcp, 'apps', 'backend');
  if (!fs.existsSync(path.join(backendDir, 'dist', 'index.js'))) fail(`${backendDir}/dist/index.js is missing: run setup.sh first`);
  if (!fs.existsSync(options.init)) fail(`${options.init} does not exist`);
  if (!fs.existsSync(PIDS_ROOT)) fail(`${PIDS_ROOT} is missing: this needs the cgroup v1 pids controller`);
  if (await healthy()) fail(`something already answers on port ${PORT}: stop it first`);

  const env = loadEnv(options.profile);
  const serverNames = benchServers(env);
  const requireFromBackend = createRequire(path.join(backendDir, 'package.json'));
  const url = `http://localhost:${PORT}/metamcp/${env.BENCH_ENDPOINT}/mcp`;

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const slug = options.label.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
  const runDir = path.join(options.out, `${stamp}-${slug}`);
  fs.mkdirSync(runDir, { recursive: true });
  const initLog = fs.createWriteStream(path.join(runDir, 'init.log'));
  const backendLog = fs.createWriteStream(path.join(runDir, 'backend.log'));

  const servers = await withDb(requireFromBackend, env, (db) => prepareDb(db, serverNames, options.maxAttempts));

  const stack = new Stack(options, env, { runDir });
  const emergency = () => stack.killAll();
  process.on('exit', () => {
    stack.killAll();
    stack.removeCgroup();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`${signal}: cleaning up`);
      emergency();
      stack.removeCgroup();
      process.exit(130);
    });
  }

  const initEvents = [];
  const backendLines = [];
  const loadStart = loadAverage();
  const result = {
    label: options.label,
    initOptions: options.initOptions,
    maxAttempts: options.maxAttempts,
    pidsMax: options.pidsMax,
    memoryMaxBytes: options.memoryMaxBytes,
    everyMs: options.everyMs,
    forMs: options.forMs,
    loadStart,
    init: options.init,
    servers,
    serverNames,
    closeShare: options.closeShare,
    profile: options.profile,
  };
  try {
    stack.start(
      (event, line) => {
        initEvents.push(event);
        initLog.write(`${line}\n`);
      },
      (stream, line) => {
        // Lines printed after the init got TERM belong to the shutdown, not the measurement.
        backendLines.push({ stream, line, shutdown: stack.stopping });
        backendLog.write(`${stream}${stack.stopping ? ' (shutdown)' : ''}: ${line}\n`);
      },
    );
    await stack.findInit();

    const healthDeadline = Date.now() + 120000;
    while (!(await healthy())) {
      if (stack.child.exitCode !== null || stack.child.signalCode !== null) throw new Error('the init exited before the backend was healthy');
      if (Date.now() > healthDeadline) throw new Error('the backend was not healthy within 120 s');
      await sleep(250);
    }
    result.healthyAfterMs = Date.now() - stack.startedMs;
    await sleep(options.settleMs); // the backend starts its idle instances 3 s after it listens

    const openSession = makeSessionRunner(requireFromBackend, url, options.sessionTimeoutMs, serverNames);
    const leakStart = Date.now();
    const inFlight = [];
    for (let index = 0; Date.now() - leakStart < options.forMs; index += 1) {
      const due = leakStart + index * options.everyMs;
      if (due - leakStart >= options.forMs) break;
      if (due > Date.now()) await sleep(due - Date.now());
      inFlight.push(openSession(index, Date.now() - stack.startedMs, { close: takesShare(index, options.closeShare) }));
    }
    result.sessions = await Promise.all(inFlight);
    result.fresh = await openSession('fresh', Date.now() - stack.startedMs);
    result.errorStatusAtEnd = await withDb(requireFromBackend, env, (db) => serverErrorStatuses(db, servers));
    result.loadEnd = loadAverage();
    result.forksRefused = stack.pidsEvents();
    result.launchersAtEnd = stack.cgroupPids().filter((pid) => (readText(`/proc/${pid}/cmdline`) ?? '').startsWith('npm exec')).length;
    result.pidsAtEnd = Number(readText(path.join(stack.cgroup, 'pids.current')));
  } catch (error) {
    result.failure = error instanceof Error ? error.message : String(error);
  } finally {
    result.samples = { ...stack.samples };
    result.forksRefused ??= stack.pidsEvents();
    result.oomKills = stack.oomKills();
    result.stop = await stack.stop();
    result.initExit = await stack.exited;
    result.loadEnd ??= loadAverage();
  }
  await new Promise((resolve) => initLog.end(resolve));
  await new Promise((resolve) => backendLog.end(resolve));

  result.stops = summarizeStops(initEvents);
  result.backend = summarizeBackend(
    backendLines.filter((entry) => !entry.shutdown),
    servers,
  );
  result.backendDuringShutdown = summarizeBackend(
    backendLines.filter((entry) => entry.shutdown),
    servers,
  );
  result.sessions ??= [];
  result.errorStatusAtEnd ??= {};
  fs.writeFileSync(path.join(runDir, 'summary.json'), `${JSON.stringify(result, null, 2)}\n`);

  const row = tableRow(result);
  fs.writeFileSync(path.join(runDir, 'row.md'), `${tableHeader()}\n${row}\n`);
  const table = path.join(options.out, 'table.md');
  if (!fs.existsSync(table)) fs.writeFileSync(table, `${tableHeader()}\n`);
  fs.appendFileSync(table, `${row}\n`);
  console.log(tableHeader());
  console.log(row);
  if (result.failure) {
    console.error(`run failed: ${result.failure} (raw data in ${runDir})`);
    process.exitCode = 1;
  } else {
    console.error(`raw data in ${runDir}`);
  }
}

// The leaked client sessions would keep this process alive (and retrying): exit.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
