import { describe, expect, it } from 'vitest';
import { findInstances, type KnownLauncher } from '../../src/guard/instances.js';
import { INIT_PID, MAIN_PID, makeConfig, makeNpmTree, makeProc, makeSnapshot } from '../helpers/snapshots.js';

const { patterns } = makeConfig();

function find(procs: Parameters<typeof makeSnapshot>[0], known: ReadonlyMap<string, KnownLauncher> = new Map()) {
  const snap = makeSnapshot(procs);
  return findInstances({ procs: snap.procs, initPid: INIT_PID, mainPid: MAIN_PID, patterns, known });
}

describe('findInstances', () => {
  it('makes one instance of launcher → sh → server, keyed by npm\'s title', () => {
    const { instances } = find(makeNpmTree(100));
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      id: '100:100', key: 'npm exec @modelcontextprotocol/server-everything', launcherAlive: true, orphaned: false, pgid: 100, tasks: 23,
    });
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([100, 101, 102]);
  });

  it('never takes the init, the main child or processes outside a launcher\'s tree', () => {
    const other = makeProc(50, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['node', 'worker.js'] });
    const { instances } = find([other, ...makeNpmTree(100)]);
    const members = instances.flatMap((i) => i.members.map((m) => m.pid));
    expect(members).not.toContain(INIT_PID);
    expect(members).not.toContain(MAIN_PID);
    expect(members).not.toContain(50);
  });

  it('does not take the group of a launcher that does not lead one', () => {
    const launcher = makeProc(100, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['npx', '-y', 'some-mcp-server'] });
    const sibling = makeProc(60, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['node', 'worker.js'] });
    const { instances } = find([launcher, sibling]);
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([100]);
    expect(instances[0]!.pgid).toBeUndefined();
  });

  it('never takes a main child whose command line matches, and still finds the launchers below it', () => {
    const snap = makeSnapshot(makeNpmTree(100));
    const app = makeProc(MAIN_PID, { argv: ['node', 'app.js', '--servers', '@modelcontextprotocol/server-memory'] });
    const procs = new Map(snap.procs).set(MAIN_PID, app);
    const { instances } = findInstances({ procs, initPid: INIT_PID, mainPid: MAIN_PID, patterns, known: new Map() });
    expect(instances.map((i) => i.launcher.pid)).toEqual([100]);
  });

  it('keeps a dead launcher\'s leftovers as one orphaned instance with its id and key', () => {
    const first = find(makeNpmTree(100));
    // The launcher is killed: sh is reparented to the init, still in the launcher's group.
    const [, sh, server] = makeNpmTree(100);
    const { instances } = find([{ ...sh!, ppid: INIT_PID }, server!], first.known);
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ id: '100:100', key: first.instances[0]!.key, launcherAlive: false, orphaned: true });
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([101, 102]);
  });

  it('keeps a helper that escaped with setsid once its parent died', () => {
    const tree = makeNpmTree(100);
    const helper = makeProc(103, { ppid: 102, pgid: 103, sid: 103, argv: ['sleep', '1000'] });
    const first = find([...tree, helper]);
    expect(first.instances[0]!.members.map((m) => m.pid)).toContain(103);
    const { instances } = find([{ ...helper, ppid: INIT_PID }], first.known);
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([103]);
    expect(instances[0]!.orphaned).toBe(true);
  });

  it('takes the key anew once npm has set its title', () => {
    const [launcher, ...rest] = makeNpmTree(100);
    const before = find([{ ...launcher!, argv: ['node', '/usr/local/bin/npx', '-y', 'some-server', '--flag'] }, ...rest]);
    expect(before.instances[0]!.key).toBe('npm exec some-server --flag');
    const after = find([{ ...launcher!, argv: ['npm exec @modelcontextprotocol/server-everything'] }, ...rest], before.known);
    expect(after.instances[0]!.key).toBe('npm exec @modelcontextprotocol/server-everything');
  });

  it('does not take a process that has forked but not exec\'d: its command line is still its parent\'s', () => {
    const forked = makeProc(300, { ppid: MAIN_PID, flags: 0x40, argv: ['npx', '-y', '@modelcontextprotocol/server-memory'] });
    expect(find([forked]).instances).toEqual([]);
    expect(find([{ ...forked, flags: 0 }]).instances).toHaveLength(1);
  });

  it('calls a live launcher whose parent died orphaned', () => {
    const tree = makeNpmTree(100, { parent: INIT_PID });
    expect(find(tree).instances[0]!.orphaned).toBe(true);
  });

  it('does not take a new process that reuses a dead launcher\'s pid, nor its group', () => {
    const first = find(makeNpmTree(100));
    const reuser = makeProc(100, { startTicks: 9000, pgid: 100, sid: 100, ppid: MAIN_PID, argv: ['node', 'worker.js'] });
    const child = makeProc(300, { startTicks: 9001, pgid: 100, sid: 100, ppid: 100, argv: ['sleep', '1'] });
    const { instances } = find([reuser, child], first.known);
    expect(instances).toEqual([]);
  });
});
