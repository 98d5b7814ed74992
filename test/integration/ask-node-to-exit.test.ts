import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { stopInstance } from '../../src/guard/loop/stop-instance.js';
import { askNodeToExit, loopbackPortsOf, takesExitRequest } from '../../src/proc/ask-node-to-exit.js';
import { readAllStats } from '../../src/proc/read-proc.js';
import { signalProc } from '../../src/proc/signal-proc.js';
import type { ProcStat } from '../../src/proc/snapshot.js';
import { isAlive, refOfSpawned, TEST_ACCESS } from '../helpers/procs.js';
import { makeInstance } from '../helpers/snapshots.js';
import { waitFor } from '../helpers/wait-for.js';

// The groups this file started (each a session of its own) and the ports it held: all go.
const groups: number[] = [];
const servers: Server[] = [];
const inGroup = (pgid: number): ProcStat[] => [...readAllStats().values()].filter((p) => p.pgid === pgid && p.state !== 'Z');
afterEach(() => {
  for (const pgid of groups.splice(0)) for (const proc of inGroup(pgid)) signalProc(proc, 'SIGKILL', TEST_ACCESS);
  for (const server of servers.splice(0)) server.close();
});

// A launcher as `npm exec` is one: Node, with an exit listener that would make its code 1,
// and a server below it that ignores SIGINT and TERM (as no real one does: the worst case).
const LAUNCHER = [
  "const server = require('child_process').spawn(process.execPath, ['-e', 'process.on(\"SIGINT\", () => {}); process.on(\"SIGTERM\", () => {}); setInterval(() => {}, 1000)'], { stdio: 'inherit' });",
  "process.on('exit', () => { process.exitCode = 1; });",
  "server.on('spawn', () => console.log('ready'));",
].join('\n');

/** Starts a launcher in a session of its own, and waits until it has set its signal handlers. */
async function startLauncher(command: string, args: string[]) {
  const launcher = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(launcher, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const ref = refOfSpawned(launcher)!;
  groups.push(ref.pid);
  await once(launcher.stdout!, 'data');
  return { ref, exited };
}

/** A port of the loopback held by this test, so that a launcher's inspector cannot open there. */
async function heldPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('askNodeToExit', () => {
  it('makes a Node launcher exit 0, though an exit listener of its own would set 1, and its server goes as a leftover', async () => {
    // A port of its own (0: any free one), as tests run side by side in one network namespace.
    const { ref, exited } = await startLauncher(process.execPath, ['--inspect-port=0', '-e', LAUNCHER]);
    await waitFor(() => inGroup(ref.pid).length === 2 || undefined, { what: 'the server under the launcher' });
    expect(takesExitRequest(ref.pid)).toBe(true);
    // The launcher first: makeInstance takes the first member for it.
    const members = inGroup(ref.pid).sort((a, b) => Number(b.pid === ref.pid) - Number(a.pid === ref.pid));
    const instance = makeInstance(
      members.map((proc) => ({ ...proc, argv: ['node'] })),
      { pgid: ref.pid },
    );
    expect(instance.launcher).toEqual(ref);

    const result = await stopInstance(instance, { method: 'exit', terminateIfIgnored: false, graceMs: 1500, pollMs: 20, access: TEST_ACCESS });
    expect(await exited).toEqual([0, null]);
    // The server ignores TERM: the KILL after the grace took it.
    expect(result).toMatchObject({ endedBy: 'exit', left: 0, killed: 1 });
    expect(inGroup(ref.pid)).toEqual([]);
  });

  it('sends nothing to a process that is not Node: SIGUSR1 would kill it', async () => {
    const { ref } = await startLauncher('sh', ['-c', 'echo ready; while :; do sleep 0.05; done']);
    expect(takesExitRequest(ref.pid)).toBe(false);
    expect(await askNodeToExit(ref, TEST_ACCESS, { waitMs: 1000 })).toBe('unavailable');
    expect(isAlive(ref)).toBe(true);
  });

  it('leaves a Node launcher running when its inspector cannot open, and a stop that may not TERM leaves it to run', async () => {
    const port = await heldPort();
    const { ref } = await startLauncher(process.execPath, [`--inspect-port=${port}`, '-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    const stat = await waitFor(() => readAllStats().get(ref.pid), { what: 'the launcher' });
    const instance = makeInstance([{ ...stat, argv: ['node'] }], { pgid: ref.pid });
    const result = await stopInstance(instance, { method: 'exit', terminateIfIgnored: false, graceMs: 1000, pollMs: 20, access: TEST_ACCESS });
    expect(result).toMatchObject({ endedBy: 'survived', left: 1 });
    expect(isAlive(ref)).toBe(true);
    // Its inspector never opened: nothing of it listens.
    expect(loopbackPortsOf(ref.pid)).toEqual(new Set());
  });

  it('finds the loopback ports a process listens on among its own sockets only', async () => {
    const port = await heldPort();
    expect(loopbackPortsOf(process.pid).has(port)).toBe(true);
    const { ref } = await startLauncher(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)']);
    expect(loopbackPortsOf(ref.pid).has(port)).toBe(false);
  });
});
