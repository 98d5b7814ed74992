// The Docker engine as the e2e tests use it: the real `docker` and `docker-compose` CLIs.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type Run = { code: number | null; stdout: string; stderr: string };

/** Runs a command to its end; throws with its output when it fails, unless `allowFail`. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; allowFail?: boolean } = {}): Run {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: Run = { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  if (!options.allowFail && (result.error || result.status !== 0)) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${out.stderr.slice(-3000)}${out.stdout.slice(-2000)}`,
    );
  }
  return out;
}

/** `docker ARGS`, trimmed stdout. */
export function docker(...args: string[]): string {
  return run('docker', args).stdout.trim();
}

/** Whether an engine answers. */
export function isDockerUp(): boolean {
  return run('docker', ['info'], { allowFail: true }).code === 0;
}

/** `docker logs`: the container's stdout and stderr apart (no TTY, so they stay apart). */
export function dockerLogs(container: string): { stdout: string; stderr: string } {
  const { stdout, stderr } = run('docker', ['logs', container]);
  return { stdout, stderr };
}

/**
 * `docker logs -f`, collected as it comes: polling with `docker logs` would block the event
 * loop (and the samplers on it) for each call.
 */
export function followLogs(container: string): { stdout: () => string; stderr: () => string; stop: () => void } {
  const child = spawn('docker', ['logs', '-f', container], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return { stdout: () => out, stderr: () => err, stop: () => void child.kill() };
}

/** The container's state, as `docker inspect` gives it. */
export function inspectState(container: string): { Running: boolean; Pid: number; ExitCode: number; Status: string } {
  return JSON.parse(docker('inspect', '-f', '{{json .State}}', container)) as { Running: boolean; Pid: number; ExitCode: number; Status: string };
}

/** An image's size in bytes. */
export function imageSize(image: string): number {
  return Number(docker('image', 'inspect', '-f', '{{.Size}}', image));
}

/**
 * The directory of a process's pids cgroup on the host, from /proc/PID/cgroup: the v1 pids
 * hierarchy (as on these machines) or the v2 unified one.
 */
export function pidsCgroupDir(hostPid: number): string {
  const lines = readFileSync(`/proc/${hostPid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((line) => /^\d+:([^:]*,)?pids(,[^:]*)?:/.test(line));
  if (v1) return `/sys/fs/cgroup/pids${v1.slice(v1.indexOf(':', v1.indexOf(':') + 1) + 1)}`;
  const v2 = lines.find((line) => line.startsWith('0::'));
  if (v2) return `/sys/fs/cgroup${v2.slice(3)}`;
  throw new Error(`no pids cgroup in /proc/${hostPid}/cgroup`);
}

/**
 * `docker run` attached, and the time until `text` appears on its stdout; the container is
 * then removed. Attached, the CLI streams the container's stdout as it comes.
 */
export async function timeUntilStdout(args: string[], text: string, timeoutMs = 30_000): Promise<number> {
  const name = args[args.indexOf('--name') + 1]!;
  const started = performance.now();
  const child = spawn('docker', ['run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" from docker run ${args.join(' ')} within ${timeoutMs} ms: ${err.slice(-500)}`)), timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes(text)) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
      child.once('exit', (code) => reject(new Error(`docker run exited ${code} before "${text}": ${err.slice(-500)}`)));
    });
  } finally {
    run('docker', ['rm', '-f', name], { allowFail: true });
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
