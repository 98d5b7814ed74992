// Closing a server's stdin on real processes: spawned as MetaMCP spawns a launcher (detached,
// stdio pipes, which Node makes socketpairs), a pipe from a shell, a socket the parent shares.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { stopInstance } from '../../src/guard/loop/stop-instance.js';
import { closeStdinOf, hasSocketStdin, probeStdinClose } from '../../src/proc/close-stdin.js';
import { readAllStats } from '../../src/proc/read-proc.js';
import { signalProc } from '../../src/proc/signal-proc.js';
import type { ProcInfo, ProcRef } from '../../src/proc/snapshot.js';
import { loadLibc } from '../../src/sys/libc.js';
import { isAlive, refOfSpawned, TEST_ACCESS } from '../helpers/procs.js';
import { makeInstance } from '../helpers/snapshots.js';
import { waitFor } from '../helpers/wait-for.js';

// A server as MCP servers are: it says ready, reads its stdin, exits 0 at its end (unless told to run on).
const SERVER = (onEnd: string, extra = '') =>
  `${extra} process.stdin.on('data', () => {}); process.stdin.on('end', () => { ${onEnd} }); setInterval(() => {}, 1000); console.log('ready');`;

const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0))
    for (const proc of readAllStats().values()) if (proc.pgid === pgid && proc.state !== 'Z') signalProc(proc, 'SIGKILL', TEST_ACCESS);
});

/** A launcher as MetaMCP starts one: `sh -c 'node server'` detached on stdio pipes; resolves once the server is ready. */
async function startLauncher(script: string): Promise<{ child: ChildProcess; ref: ProcRef; members: ProcInfo[] }> {
  const child = spawn('sh', ['-c', `node -e "${script}"; exit $?`], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  const ref = refOfSpawned(child)!;
  groups.push(ref.pid);
  child.stdin!.on('error', () => {});
  await once(child.stdout!, 'data');
  const members = await waitFor(
    () => {
      const inGroup = [...readAllStats().values()].filter((proc) => proc.pgid === ref.pid && proc.state !== 'Z');
      return inGroup.length === 2 ? inGroup.map((proc) => ({ ...proc, argv: [proc.comm] })) : undefined;
    },
    { what: 'the launcher and its server' },
  );
  return { child, ref, members };
}

const exitOf = (child: ChildProcess) => once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

describe('closing the stdin of a server', () => {
  it('is allowed on this machine, as the start-up probe finds (no seccomp filter here)', () => {
    expect(probeStdinClose(loadLibc().pidfds)).toEqual({ available: true });
    expect(probeStdinClose(undefined).available).toBe(false);
  });

  it('ends a launcher and its server with exit 0, the way the app sees it, and sends no signal', async () => {
    const { child, ref, members } = await startLauncher(SERVER('process.exit(0);'));
    expect(hasSocketStdin(ref.pid, '/proc')).toBe(true);
    const exited = exitOf(child);
    const result = await stopInstance(makeInstance(members, { pgid: ref.pid }), { method: 'close-stdin', graceMs: 2000, pollMs: 20, access: TEST_ACCESS });
    expect(result).toMatchObject({ endedBy: 'close-stdin', interrupted: 0, termed: 0, killed: 0, left: 0, close: { answer: 'closed' } });
    expect(await exited).toEqual([0, null]);
  });

  it('runs a held (SIGSTOPped) tree on, so that it reads its EOF', async () => {
    const { child, ref, members } = await startLauncher(SERVER('process.exit(0);'));
    for (const member of members) signalProc(member, 'SIGSTOP', TEST_ACCESS);
    const exited = exitOf(child);
    const result = await stopInstance(makeInstance(members, { pgid: ref.pid }), { method: 'close-stdin', graceMs: 2000, pollMs: 20, access: TEST_ACCESS });
    expect(result.endedBy).toBe('close-stdin');
    expect(await exited).toEqual([0, null]);
  });

  it('leaves a server that runs on after EOF to run when no TERM may follow, and TERMs it when one may', async () => {
    const left = await startLauncher(SERVER(''));
    const survived = await stopInstance(makeInstance(left.members, { pgid: left.ref.pid }), {
      method: 'close-stdin',
      terminateIfIgnored: false,
      graceMs: 2000,
      pollMs: 20,
      access: TEST_ACCESS,
    });
    expect(survived).toMatchObject({ endedBy: 'survived', termed: 0, close: { answer: 'closed' } });
    expect(isAlive(left.ref)).toBe(true);
    const termed = await startLauncher(SERVER(''));
    const ended = await stopInstance(makeInstance(termed.members, { pgid: termed.ref.pid }), {
      method: 'close-stdin',
      terminateIfIgnored: true,
      graceMs: 1000,
      pollMs: 20,
      access: TEST_ACCESS,
    });
    expect(ended).toMatchObject({ endedBy: 'terminate', left: 0 });
  });

  it('does not touch a stdin that is a pipe: a shutdown would end nothing', async () => {
    // `sleep | node`: the server's stdin is a pipe, as a Python app's subprocess gives it.
    const child = spawn('sh', ['-c', `sleep 1000 | node -e "${SERVER('process.exit(0);')}"`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    groups.push(child.pid!);
    await once(child.stdout!, 'data');
    const server = await waitFor(() => [...readAllStats().values()].find((proc) => proc.pgid === child.pid && proc.comm === 'node'), { what: 'the server' });
    expect(hasSocketStdin(server.pid, '/proc')).toBe(false);
    expect(closeStdinOf(server, TEST_ACCESS)).toEqual({ answer: 'not-a-socket' });
    const result = await stopInstance(makeInstance([{ ...server, argv: ['node'] }], { pgid: child.pid! }), {
      method: 'close-stdin',
      terminateIfIgnored: false,
      graceMs: 2000,
      pollMs: 20,
      access: TEST_ACCESS,
    });
    expect(result).toMatchObject({ endedBy: 'survived', close: { answer: 'not-a-socket' } });
    expect(isAlive(server)).toBe(true);
  });

  it('never shuts down a stdin that is a TCP socket: only a unix socket is a stdio pipe', async () => {
    const server = createServer((peer) => peer.on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await once(socket, 'connect');
      const child = spawn('node', ['-e', SERVER('process.exit(0);')], { detached: true, stdio: [socket, 'pipe', 'ignore'] });
      groups.push(child.pid!);
      socket.destroy();
      await once(child.stdout!, 'data');
      const ref = refOfSpawned(child)!;
      expect(hasSocketStdin(ref.pid, '/proc')).toBe(true);
      expect(closeStdinOf(ref, TEST_ACCESS)).toEqual({ answer: 'not-a-socket' });
      expect(isAlive(ref)).toBe(true);
    } finally {
      server.close();
    }
  });

  it("never shuts down a socket that the launcher's parent holds too: the app's own input", async () => {
    // The parent reads its stdin (a socket from this test) and hands the same one to its child ('inherit').
    const parent = spawn(
      'node',
      [
        '-e',
        `const c = require('child_process').spawn('node', ['-e', "${SERVER('process.exit(0);')}"], { stdio: ['inherit', 'inherit', 'ignore'] }); setInterval(() => {}, 1000);`,
      ],
      { detached: true, stdio: ['pipe', 'pipe', 'ignore'] },
    );
    groups.push(parent.pid!);
    parent.stdin!.on('error', () => {});
    await once(parent.stdout!, 'data');
    const server = await waitFor(() => [...readAllStats().values()].find((proc) => proc.ppid === parent.pid && proc.comm === 'node'), { what: 'the server' });
    expect(hasSocketStdin(server.pid, '/proc')).toBe(true);
    expect(closeStdinOf(server, TEST_ACCESS)).toEqual({ answer: 'shared' });
    // Its input still works: it echoes nothing, but it is alive and reading.
    expect(isAlive(server)).toBe(true);
  });

  it("says gone for a process that took the recorded one's place, and closes nothing", async () => {
    const { ref } = await startLauncher(SERVER('process.exit(0);'));
    expect(closeStdinOf({ pid: ref.pid, startTicks: ref.startTicks + 1 }, TEST_ACCESS)).toEqual({ answer: 'gone' });
    expect(isAlive(ref)).toBe(true);
  });

  it('ends a stop of a tree that ignores EOF and traps TERM by its deadline, and holds up no other stop', async () => {
    const hostile = await startLauncher(SERVER('', "process.on('SIGTERM', () => {});"));
    const plain = await startLauncher(SERVER('process.exit(0);'));
    const graceMs = 2000;
    const started = Date.now();
    const [slow, quick] = await Promise.all([
      stopInstance(makeInstance(hostile.members, { pgid: hostile.ref.pid }), { method: 'close-stdin', graceMs, pollMs: 20, access: TEST_ACCESS }),
      stopInstance(makeInstance(plain.members, { pgid: plain.ref.pid }), { method: 'close-stdin', graceMs, pollMs: 20, access: TEST_ACCESS }).then((r) => ({
        ...r,
        atMs: Date.now() - started,
      })),
    ]);
    expect(quick.endedBy).toBe('close-stdin');
    // The plain stop ended on its EOF, long before the hostile one's clean wait was over.
    expect(quick.atMs).toBeLessThan(graceMs + 1000);
    // Clean wait (at most the grace) + grace + KILL wait, and a poll's slack on a loaded machine.
    expect(slow.tookMs).toBeLessThanOrEqual(graceMs * 3 + 1000);
    expect(slow).toMatchObject({ endedBy: 'kill', left: 0 });
  });
});
