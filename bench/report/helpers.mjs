// What the report's sections share: paths, statistics, /proc readers, pids cgroups, PID 1 of a
// new pid namespace, the contenders' command lines, and a registry of everything started, so
// that every process and cgroup the bench made is ended on any way out (and nothing else is).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUNDLE = join(ROOT, 'dist/metamcp-init.cjs');
export const SIM = join(ROOT, 'test/fixtures/leak-sim/metamcp-like.js');
export const FIXTURES = join(ROOT, 'test/fixtures');
export const SEED_LOOP = join(ROOT, 'bench/seed-kill-loop.sh');
export const NODE = process.execPath;
/** Clock ticks a second (USER_HZ), the unit of utime/stime in /proc/PID/stat. */
export const TICKS = 100;

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// Statistics.

/** The q-quantile by nearest rank (q = 0.5: the median, 0.95: p95). */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
export const median = (values) => quantile(values, 0.5);
export const p95 = (values) => quantile(values, 0.95);

/** A number rounded to `digits` significant digits, for tables. */
export function sig(value, digits = 3) {
  if (!Number.isFinite(value)) return value;
  if (value === 0) return 0;
  return Number(value.toPrecision(digits));
}

/** Logs progress on stderr (stdout stays free for what a caller may pipe). */
export function say(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// /proc.

/** Fields of /proc/PID/stat after the command name (field 3 is index 0), or undefined. */
function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** State, parent, CPU ticks (user + system, all threads) and start time of a process. */
export function readStat(pid) {
  const f = statFields(pid);
  if (!f) return undefined;
  return { state: f[0], ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]), threads: Number(f[17]), startTime: f[19] };
}

/** RSS (KiB) and threads of a process, from /proc/PID/status. */
export function readStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0), threads: Number(/Threads:\s+(\d+)/.exec(text)?.[1] ?? 0) };
  } catch {
    return undefined;
  }
}

export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The command line of a process, arguments joined by spaces (as `ps aux` shows it). */
export function cmdlineOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// What this bench started: ended on any way out, and only that.

const started = { pid1s: new Set(), children: new Set(), cgroups: new Set(), tmp: new Set() };

/** A temporary directory, removed at clean-up. */
export function tmpDir(prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), `metamcp-bench-${prefix}-`));
  started.tmp.add(dir);
  return dir;
}

/** SIGKILL to a namespace's PID 1 we started (the kernel then kills its whole namespace), if it is still that process. */
export function killPid1(pid1) {
  if (readStat(pid1.pid)?.startTime === pid1.startTime) {
    try {
      process.kill(pid1.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  started.pid1s.delete(pid1);
}

/** Ends everything still running that this bench started, removes its cgroups and temporary files. */
export async function cleanUp() {
  for (const pid1 of [...started.pid1s]) killPid1(pid1);
  for (const child of started.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.children.clear();
  for (const path of [...started.cgroups]) {
    try {
      await removeCgroup(path);
    } catch (error) {
      say(`could not remove ${path}: ${error.message}`);
    }
  }
  for (const dir of started.tmp) rmSync(dir, { recursive: true, force: true });
  started.tmp.clear();
}

/** Cleans up, then exits, on Ctrl-C, TERM or HUP. */
export function cleanUpOnSignals() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      say(`${signal}: ending what the bench started`);
      cleanUp().finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------------------------------------
// pids cgroups: v1 /sys/fs/cgroup/pids/<name>, or v2 /sys/fs/cgroup/<name>.

export function pidsCgroupVersion() {
  if (existsSync('/sys/fs/cgroup/pids/cgroup.procs')) return 1;
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return 2;
  return undefined;
}

function pidsIn(path) {
  try {
    return readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A new pids cgroup with pids.max = max; removed at clean-up with whatever is left in it. */
export function makePidsCgroup(label, max) {
  const version = pidsCgroupVersion();
  if (!version) throw new Error('no cgroup v1 pids controller at /sys/fs/cgroup/pids and no cgroup v2 at /sys/fs/cgroup');
  const root = version === 1 ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup';
  if (version === 2 && !readFileSync(`${root}/cgroup.subtree_control`, 'utf8').split(/\s+/).includes('pids')) {
    writeFileSync(`${root}/cgroup.subtree_control`, '+pids');
  }
  const path = `${root}/metamcp-init-bench-${process.pid}-${label}`;
  mkdirSync(path);
  started.cgroups.add(path);
  writeFileSync(`${path}/pids.max`, String(max));
  return {
    path,
    max,
    version,
    current: () => Number(readFileSync(`${path}/pids.current`, 'utf8')),
    /** Forks and clones the kernel refused at pids.max (pids.events "max"). */
    refused: () => Number(/max (\d+)/.exec(readFileSync(`${path}/pids.events`, 'utf8'))?.[1] ?? 0),
    pids: () => pidsIn(path),
    /** argv prefix that moves the command into this cgroup before it runs. */
    prefix: ['sh', '-c', `echo $$ > ${path}/cgroup.procs && exec "$@"`, 'sh'],
  };
}

/** Kills what is left in one of our cgroups (only what the bench put there) and removes it. */
export async function removeCgroup(path) {
  if (!existsSync(path)) {
    started.cgroups.delete(path);
    return;
  }
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
  started.cgroups.delete(path);
}

// ---------------------------------------------------------------------------------------------
// PID 1 of a new pid namespace.

/**
 * Runs argv as PID 1 of a new pid namespace with its own /proc (`unshare --pid --fork
 * --mount-proc`), in `cgroup` when one is given. Resolves once PID 1 exists (at once with
 * findPid1 false, for a PID 1 that may be gone before it could be seen).
 */
export async function startPid1(argv, { cgroup, env, stdin = 'ignore', onStdout, findPid1 = true } = {}) {
  const command = [...(cgroup ? cgroup.prefix : []), 'unshare', '--pid', '--fork', '--mount-proc', ...argv];
  const child = spawn(command[0], command.slice(1), { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, ...env } });
  started.children.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk;
    onStdout?.(chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  const closed = new Promise((done) =>
    child.once('close', (code, signal) => {
      started.children.delete(child);
      done({ code, signal });
    }),
  );
  const deadline = Date.now() + 30_000;
  let pid1;
  while (findPid1 && !pid1) {
    const pid = childPids(child.pid)[0];
    const startTime = pid ? readStat(pid)?.startTime : undefined;
    if (startTime) {
      pid1 = { pid, startTime };
      started.pid1s.add(pid1);
    } else {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`PID 1 did not start: ${command.join(' ')}\n${err.slice(-1000)}`);
      await sleep(2);
    }
  }
  if (pid1) closed.then(() => started.pid1s.delete(pid1));
  return { child, pid1, closed, command, stdout: () => out, stderr: () => err };
}

/** TERM to PID 1, then KILL if it has not exited within timeoutMs; resolves with how it closed. */
export async function stopPid1(run, timeoutMs = 20_000) {
  try {
    process.kill(run.pid1.pid, 'SIGTERM');
  } catch {
    // Gone already.
  }
  let timer;
  const timeout = new Promise((done) => {
    timer = setTimeout(done, timeoutMs);
  });
  const exit = await Promise.race([run.closed, timeout.then(() => undefined)]);
  clearTimeout(timer);
  if (exit) return exit;
  killPid1(run.pid1);
  return { ...(await run.closed), killed: true };
}

// ---------------------------------------------------------------------------------------------
// The contenders.

/**
 * The init as the image starts it: docker/Dockerfile's ENTRYPOINT (its node flags and its
 * init flags), with this machine's node and dist/ bundle in place of the image's paths.
 */
export function initArgv() {
  const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!entry) throw new Error('docker/Dockerfile has no ENTRYPOINT in exec form');
  const words = JSON.parse(entry[1]);
  const bundleAt = words.findIndex((word) => word.endsWith('metamcp-init.cjs'));
  const end = words.lastIndexOf('--');
  if (words[0] !== 'node' || bundleAt < 1 || end < bundleAt)
    throw new Error(`unexpected ENTRYPOINT ${entry[1]}: want ["node", …, "…/metamcp-init.cjs", …, "--"]`);
  return [NODE, ...words.slice(1, bundleAt), BUNDLE, ...words.slice(bundleAt + 1, end)];
}

/** ENV lines of docker/Dockerfile that set the init's variables or Node's options. */
export function initEnv() {
  const env = {};
  const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
  for (const match of dockerfile.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of match[1].matchAll(/(METAMCP_INIT_\w+|NODE_OPTIONS)=("[^"]*"|\S+)/g)) env[pair[1]] = pair[2].replace(/^"|"$/g, '');
  }
  return env;
}

/** The three inits as PID 1, each ending with `--` before the child's argv. */
export function inits() {
  return {
    'metamcp-init': [...initArgv(), '--'],
    tini: ['tini', '--'],
    'dumb-init': ['dumb-init', '--'],
  };
}

function debianVersion(name) {
  // dpkg-query's own format field, not a template.
  const result = spawnSync('dpkg-query', ['-W', '-f', '$' + '{Version}', name], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * tini and dumb-init from Debian's packages: installed with apt-get when missing (as root,
 * where apt-get exists), otherwise an error that says how. Returns their versions.
 */
export function ensureReferences() {
  const missing = ['tini', 'dumb-init'].filter((tool) => spawnSync(tool, ['--version']).error);
  if (missing.length > 0) {
    const how = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
    if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).error) throw new Error(`${missing.join(' and ')} missing: install them (${how})`);
    say(`installing ${missing.join(' and ')} from Debian's packages: ${how}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let result = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    if (result.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      result = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    }
    if (result.status !== 0) throw new Error(`could not install ${missing.join(' and ')} (${how})`);
  }
  return { tini: debianVersion('tini') ?? 'not from a Debian package', 'dumb-init': debianVersion('dumb-init') ?? 'not from a Debian package' };
}

/** What the figures were measured on. */
export function machine() {
  const release = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: /PRETTY_NAME="([^"]+)"/.exec(release)?.[1] ?? os.type(),
    kernel: os.release(),
    node: process.version,
    cgroup: `v${pidsCgroupVersion() ?? '?'} pids controller`,
    pidMax: Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')),
    commit: git(['rev-parse', '--short', 'HEAD']),
    srcChanged: git(['status', '--porcelain', '--', 'src', 'build.mjs']) !== '',
    loadStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}
