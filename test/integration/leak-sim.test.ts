// The leak simulator on its own (the guard off): it must behave as MetaMCP's backend does,
// or the guard's service tests prove nothing.
import { describe, expect, it } from 'vitest';
import { readProcText } from '../../src/proc/read-file.js';
import { readAllStats } from '../../src/proc/read-proc.js';
import { findDescendants } from '../../src/proc/tree.js';
import { crashes, errorStates, finalSession, leakSimCommand, requestedCloses, type SimEvent, sessions, sessionsServed, summary } from '../helpers/leak-sim.js';
import { startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const PKG = '@modelcontextprotocol/server-everything';
const DEADLINE_MS = 30_000;

/** The simulator under the init with the guard off, as a plain subreaper: pids are the test's own. */
async function startSim(args: string[]) {
  const sim = leakSimCommand(args);
  const run = startInit({ mode: 'subreaper', initArgs: ['--guard-off'], command: sim.command });
  const init = await run.initRef();
  await run.waitForStdout('ready', DEADLINE_MS);
  const eventually = <T>(check: (events: SimEvent[]) => T | undefined | false, what: string) =>
    waitFor(() => check(sim.report()), { timeoutMs: DEADLINE_MS, what });
  return { run, init, report: sim.report, eventually };
}

/** argv with NULs shown as |, trailing NUL padding kept apart. */
function cmdlineOf(pid: number): { text: string; padded: boolean } | undefined {
  const raw = readProcText(`/proc/${pid}/cmdline`, 'latin1');
  if (raw === undefined || raw === '') return undefined;
  const text = raw.replace(/\0+$/, '');
  return { text: text.replace(/\0/g, '|'), padded: raw.length - text.length > 1 };
}

function tasksOf(pid: number): number {
  return Number(/Threads:\s+(\d+)/.exec(readProcText(`/proc/${pid}/status`) ?? '')?.[1] ?? 0);
}

/** The server (grandchild) of a launcher: launcher -> sh -> node. */
function serverOf(launcherPid: number): number | undefined {
  const procs = readAllStats();
  const sh = [...procs.values()].find((p) => p.ppid === launcherPid);
  return sh && [...procs.values()].find((p) => p.ppid === sh.pid)?.pid;
}

describe('the leak simulator launches servers as MetaMCP does', () => {
  it("a launcher's command line passes through node …/npx, npm, then npm exec <pkg>", async () => {
    const { init, report } = await startSim(['--storm', '3', '--storm-seconds', '1', '--launcher-start-ms', '300', '--server-flags', '--threads 4']);
    const phases = new Map<number, string[]>();
    const padded = new Map<string, boolean>();
    const children: string[] = [];
    // Sample until every launcher has its final title and its server.
    await waitFor(
      () => {
        for (const proc of findDescendants(readAllStats(), init.pid)) {
          const cmdline = cmdlineOf(proc.pid);
          if (!cmdline || cmdline.text.includes('metamcp-like.js')) continue;
          if (/^(sh\|-c|node\|.*\/_npx\/)/.test(cmdline.text)) {
            if (!children.includes(cmdline.text)) children.push(cmdline.text);
            continue;
          }
          const seen = phases.get(proc.pid) ?? [];
          if (seen.at(-1) !== cmdline.text) seen.push(cmdline.text);
          phases.set(proc.pid, seen);
          padded.set(cmdline.text, cmdline.padded);
        }
        const launches = report().filter((e) => e.event === 'launch');
        return (
          launches.length === 3 &&
          launches.every(
            (e) =>
              phases.get(e.launcherPid!)?.at(-1) === `npm exec ${PKG} --threads 4` &&
              tasksOf(e.launcherPid!) >= 11 &&
              tasksOf(serverOf(e.launcherPid!) ?? 0) >= 11,
          )
        );
      },
      { timeoutMs: DEADLINE_MS, intervalMs: 1, what: '3 launchers with their final title and server' },
    );

    const order = [/^\/usr\/bin\/env\|node\|.*\/bin\/npx\|-y\|/, /^node\|.*\/bin\/npx\|-y\|/, /^npm$/, /^npm exec /];
    for (const pid of report()
      .filter((e) => e.event === 'launch')
      .map((e) => e.launcherPid!)) {
      const seen = phases.get(pid)!;
      // Each phase seen is one of the four, in order; the interim and final titles are always seen.
      const ranks = seen.map((text) => order.findIndex((pattern) => pattern.test(text)));
      expect(
        ranks.every((rank) => rank >= 0),
        seen.join(' -> '),
      ).toBe(true);
      expect(ranks).toEqual([...ranks].sort());
      expect(ranks).toContain(2);
      expect(ranks).toContain(3);
      expect(seen.filter((text) => /^(node|\/usr\/bin\/env)\|/.test(text)).every((text) => text.endsWith(`-y|${PKG}|--threads|4`))).toBe(true);
      expect(tasksOf(pid)).toBeGreaterThanOrEqual(11);
      expect(tasksOf(serverOf(pid)!)).toBeGreaterThanOrEqual(11);
    }
    // Node pads a retitled argv with NULs; the phase before it (node …/npx) is seen at least once.
    expect(padded.get('npm')).toBe(true);
    expect([...phases.values()].flat().some((text) => order[1]!.test(text))).toBe(true);
    expect(children).toContain('sh|-c|fake-mcp-server.js --threads 4');
    expect(children.some((text) => /^node\|\/.+\/_npx\/[0-9a-f]{16}\/node_modules\/\.bin\/fake-mcp-server\.js\|--threads\|4$/.test(text))).toBe(true);
  });
});

describe("the leak simulator's pool and clients", () => {
  it('serves every session when nothing interferes, and a fresh one at the end', async () => {
    const { eventually } = await startSim([
      '--sessions',
      '4',
      '--session-every',
      '300',
      '--busy-share',
      '0.5',
      '--use-every',
      '100',
      '--close-share',
      '1',
      '--final-session',
    ]);
    const events = await eventually((e) => summary(e) && e, 'the summary');
    expect(sessionsServed(events)).toHaveLength(4);
    expect(finalSession(events)?.served).toBe(true);
    expect(summary(events)).toMatchObject({ sessions: { served: 4, total: 4 }, finalSessionServed: true, crashes: 0, errorServers: [] });
    // Sessions 2 and 4 stay in use; 1 and 3 are closed as a client's DELETE closes them.
    expect(
      sessions(events)
        .filter((s) => s.busy)
        .map((s) => s.id)
        .sort(),
    ).toEqual(['session-2', 'session-4']);
    expect(requestedCloses(events, 'session-closed')).toHaveLength(2);
    expect(crashes(events)).toEqual([]);
  });

  it('keeps one idle instance ready: each session takes it and starts a replacement', async () => {
    const { eventually } = await startSim(['--sessions', '3', '--session-every', '4000', '--launcher-start-ms', '100', '--server-start-ms', '50']);
    const events = await eventually((e) => summary(e) && e, 'the summary');
    // Under load a tree can take longer to start than the next session takes to come; that
    // session finds no spare ready and starts its own, as MetaMCP does. Every session that
    // came after a spare had connected took that spare; on a quiet machine, every session.
    const spares = events.filter((e) => e.event === 'connected' && e.purpose === 'idle');
    const closedAt = new Map(events.filter((e) => e.event === 'close').map((e) => [e.launcherPid, e.t]));
    const taken = new Set<number>();
    let tookSpare = 0;
    for (const session of sessions(events)) {
      const startedAt = session.t - session.ms;
      const ready = spares.find((s) => s.t <= startedAt && !taken.has(s.launcherPid!) && (closedAt.get(s.launcherPid) ?? Infinity) > startedAt);
      const launcherPid = session.launcherPids[0]!;
      taken.add(launcherPid);
      if (!ready) continue;
      expect(launcherPid).toBe(ready.launcherPid);
      tookSpare += 1;
      // Taking it started a replacement.
      expect(events.some((e) => e.event === 'launch' && e.purpose === 'idle' && e.t >= startedAt)).toBe(true);
    }
    expect(tookSpare).toBeGreaterThan(0);
  });

  it('starts several trees of one server at once when sessions come faster than a server starts', async () => {
    const { eventually } = await startSim(['--sessions', '4', '--session-every', '50', '--launcher-start-ms', '600']);
    const events = await eventually((e) => summary(e) && e, 'the summary');
    expect(events.filter((e) => e.event === 'launch' && e.purpose === 'session').length).toBeGreaterThanOrEqual(2);
    expect(summary(events)!.sessions).toEqual({ served: 4, total: 4 });
  });
});

describe("the leak simulator's crash accounting", () => {
  it("counts killing a held instance's server as a crash and closes the other instances of that server", async () => {
    const { report, eventually } = await startSim([
      '--sessions',
      '2',
      '--session-every',
      '200',
      '--busy-share',
      '1',
      '--use-every',
      '100',
      '--max-attempts',
      '3',
    ]);
    const events = await eventually((e) => summary(e) && e, 'the summary');
    const held = sessions(events)[0]!.launcherPids[0]!;
    // MetaMCP closes the idle spare only once it is connected, not while it starts: on a loaded
    // machine the spare started after the last session may still be starting.
    const spare = events.filter((e) => e.event === 'launch' && e.purpose === 'idle').at(-1)!.launcherPid;
    await eventually((e) => e.some((x) => x.event === 'connected' && x.launcherPid === spare), 'the idle spare to connect');
    const server = await waitFor(() => serverOf(held), { what: 'the held server' });
    process.kill(server, 'SIGKILL');

    const [crash] = await eventually((e) => crashes(e).length > 0 && crashes(e), 'the crash');
    expect(crash).toMatchObject({ launcherPid: held, server: PKG, code: 137, signal: null, count: 1, maxAttempts: 3, starting: false });
    // The idle spare and the other session's instance are closed, as asked for: exits, not crashes.
    const closed = await eventually((e) => requestedCloses(e, 'cleanup-after-crash').length >= 2 && requestedCloses(e, 'cleanup-after-crash'), 'the cleanup');
    const closedPids = closed.map((e) => e.launcherPid!);
    expect(closedPids).toContain(sessions(events)[1]!.launcherPids[0]);
    expect(closedPids).not.toContain(held);
    await eventually(
      (e) => closedPids.every((pid) => e.some((x) => x.event === 'exit' && x.launcherPid === pid && x.code === 143)),
      'the closed instances to exit 143',
    );
    expect(crashes(report())).toHaveLength(1);
    expect(errorStates(report())).toEqual([]);
  });

  it('marks the server ERROR at --max-attempts: no session is served after, the final one included', async () => {
    const { eventually } = await startSim(['--sessions', '1', '--max-attempts', '1', '--final-session', '--final-after', '3000']);
    const first = await eventually((e) => sessions(e)[0], 'the first session');
    expect(first.served).toBe(true);
    process.kill(await waitFor(() => serverOf(first.launcherPids[0]!), { what: 'its server' }), 'SIGKILL');
    const events = await eventually((e) => summary(e) && e, 'the summary');
    expect(errorStates(events)).toMatchObject([{ server: PKG, count: 1, maxAttempts: 1 }]);
    expect(finalSession(events)).toMatchObject({ served: false, reason: 'all-servers-in-error' });
    expect(summary(events)).toMatchObject({ crashes: 1, errorServers: [PKG], finalSessionServed: false });
  });

  it('counts a launcher that aborts while it starts as a crash of a starting instance', async () => {
    const { eventually } = await startSim(['--sessions', '1', '--launcher-start-ms', '3000', '--max-attempts', '2', '--retry-wait', '100']);
    const [launch] = await eventually((e) => e.some((x) => x.event === 'launch') && e.filter((x) => x.event === 'launch'), 'the first launch');
    await waitFor(() => cmdlineOf(launch!.launcherPid!)?.text === 'npm', { timeoutMs: DEADLINE_MS, what: "npm's interim title" });
    process.kill(launch!.launcherPid!, 'SIGABRT');
    const [crash] = await eventually((e) => crashes(e).length > 0 && crashes(e), 'the crash');
    expect(crash).toMatchObject({ launcherPid: launch!.launcherPid, signal: 'SIGABRT', count: 1, starting: true, inFlight: true });
    // The start-up is retried (connectMetaMcpClient), and the retry serves the session.
    const events = await eventually((e) => summary(e) && e, 'the summary');
    expect(summary(events)).toMatchObject({ sessions: { served: 1, total: 1 }, crashes: 1, errorServers: [] });
  });
});
