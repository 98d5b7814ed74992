import { describe, expect, it } from 'vitest';
import { EMPTY_LINEAGE, findAppTree } from '../../src/guard/app-tree.js';
import { findInstances } from '../../src/guard/instances.js';
import { findOnce, GuardModel, INIT_PID, MAIN_PID, makeConfig, makeNpmTree, makeProc, makeProcs } from '../helpers/snapshots.js';

const { patterns } = makeConfig();

describe('findInstances', () => {
  it("makes one instance of launcher → sh → server, keyed by npm's title", () => {
    const { instances } = findOnce(makeNpmTree(100));
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      id: '100:100',
      key: 'npm exec @modelcontextprotocol/server-everything',
      launcherAlive: true,
      orphaned: false,
      pgid: 100,
      tasks: 23,
    });
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([100, 101, 102]);
  });

  it("never takes the init, the main child or processes outside a launcher's tree", () => {
    const other = makeProc(50, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['node', 'worker.js'] });
    const { instances } = findOnce([other, ...makeNpmTree(100)]);
    const members = instances.flatMap((i) => i.members.map((m) => m.pid));
    expect(members).not.toContain(INIT_PID);
    expect(members).not.toContain(MAIN_PID);
    expect(members).not.toContain(50);
  });

  it("does not take the group of a launcher that does not lead one, and never signals the main child's group", () => {
    const launcher = makeProc(100, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['npx', '-y', 'some-mcp-server'] });
    const sibling = makeProc(60, { ppid: MAIN_PID, pgid: MAIN_PID, sid: MAIN_PID, argv: ['node', 'worker.js'] });
    const { instances } = findOnce([launcher, sibling]);
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([100]);
    expect(instances[0]!.pgid).toBeUndefined();
  });

  it('never takes the app for a launcher for what its argv says past its program and script: its launchers are found below it', () => {
    // The main child is `sh`; the app's node, in its group, runs with --config /app/mcp-servers.json.
    const app = makeProc(50, {
      ppid: MAIN_PID,
      pgid: MAIN_PID,
      sid: MAIN_PID,
      comm: 'node',
      argv: ['node', '/app/dist/index.js', '--config', '/app/mcp-servers.json'],
    });
    const { instances } = findOnce([app, ...makeNpmTree(100, { parent: 50 }), ...makeNpmTree(200, { parent: 50 })]);
    expect(instances.map((i) => i.launcher.pid).sort()).toEqual([100, 200]);
    expect(instances.flatMap((i) => i.members.map((m) => m.pid))).not.toContain(50);
  });

  it('never takes an app named like a server for a launcher when its servers lead groups of their own, even once seen as one', () => {
    // `npx -y @acme/mcp-server-hub` run as the app: its node matches `mcp-server` by its script.
    const app = makeProc(50, {
      ppid: MAIN_PID,
      pgid: MAIN_PID,
      sid: MAIN_PID,
      comm: 'node',
      argv: ['node', '/root/.npm/_npx/x/node_modules/.bin/mcp-server-hub'],
    });
    const alone = findOnce([app]);
    // Before it started any server, it looked like one.
    expect(alone.instances.map((i) => i.launcher.pid)).toEqual([50]);
    const { instances } = findOnce([app, ...makeNpmTree(100, { parent: 50 })], alone.known);
    expect(instances.map((i) => i.launcher.pid)).toEqual([100]);
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([100, 101, 102]);
  });

  it('never takes an app named like a server for a launcher when it runs in a process group of its own, as a process manager starts it', () => {
    const app = makeProc(50, { ppid: MAIN_PID, pgid: 50, sid: 50, comm: 'node', argv: ['node', '/srv/mcp-server-hub/index.js'] });
    const { instances } = findOnce([app, ...makeNpmTree(100, { parent: 50 }), ...makeNpmTree(200, { parent: 50 })]);
    expect(instances.map((i) => i.launcher.pid).sort()).toEqual([100, 200]);
    expect(instances.flatMap((i) => i.members.map((m) => m.pid))).not.toContain(50);
  });

  it("keeps a server's helper that leads a group of its own (setsid) in its launcher's instance", () => {
    const helper = makeProc(103, { ppid: 102, pgid: 103, sid: 103, comm: 'node', argv: ['node', '/opt/mcp-server-helper.js'] });
    const { instances } = findOnce([...makeNpmTree(100), helper]);
    expect(instances).toHaveLength(1);
    expect(instances[0]!.members.map((m) => m.pid).sort()).toEqual([100, 101, 102, 103]);
  });

  it('never takes a main child whose command line matches, and still finds the launchers below it', () => {
    const procs = makeProcs(makeNpmTree(100)).set(
      MAIN_PID,
      makeProc(MAIN_PID, { argv: ['node', 'app.js', '--servers', '@modelcontextprotocol/server-memory'] }),
    );
    const app = findAppTree({ procs, initPid: INIT_PID, mainPid: MAIN_PID, lineage: EMPTY_LINEAGE });
    const { instances } = findInstances({ app, initPid: INIT_PID, patterns, known: new Map() });
    expect(instances.map((i) => i.launcher.pid)).toEqual([100]);
  });

  it("keeps a dead launcher's leftovers as one orphaned instance with its id and key", () => {
    const model = new GuardModel();
    const first = model.scan(makeNpmTree(100), { nowMs: 0 });
    // The launcher is killed: sh is reparented to the init, still in the launcher's group.
    const [, sh, server] = makeNpmTree(100);
    const { instances } = model.scan([{ ...sh!, ppid: INIT_PID }, server!], { nowMs: 100 });
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ id: '100:100', key: first.instances[0]!.key, launcherAlive: false, orphaned: true });
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([101, 102]);
  });

  it('keeps a helper that escaped with setsid once its parent died', () => {
    const model = new GuardModel();
    const helper = makeProc(103, { ppid: 102, pgid: 103, sid: 103, argv: ['sleep', '1000'] });
    const first = model.scan([...makeNpmTree(100), helper], { nowMs: 0 });
    expect(first.instances[0]!.members.map((m) => m.pid)).toContain(103);
    const { instances } = model.scan([{ ...helper, ppid: INIT_PID }], { nowMs: 100 });
    expect(instances[0]!.members.map((m) => m.pid)).toEqual([103]);
    expect(instances[0]!.orphaned).toBe(true);
  });

  it("keeps one key through every command line a launcher shows: env shebang, node npx, npm's interim and final titles", () => {
    const model = new GuardModel();
    const [launcher, ...rest] = makeNpmTree(100, { pkg: '@modelcontextprotocol/server-everything' });
    const phases = [
      ['/usr/bin/env', 'node', '/usr/bin/npx', '-y', '@modelcontextprotocol/server-everything'],
      ['node', '/usr/bin/npx', '-y', '@modelcontextprotocol/server-everything'],
      ['npm'],
      ['npm exec @modelcontextprotocol/server-everything'],
    ];
    const seen = phases.map((argv, i) => model.scan([{ ...launcher!, argv }, ...(i === 3 ? rest : [])], { nowMs: i * 100 }).instances);
    for (const instances of seen) expect(instances.map((i) => [i.id, i.key])).toEqual([['100:100', 'npm exec @modelcontextprotocol/server-everything']]);
  });

  it("does not take a process that has forked but not exec'd: its command line is still its parent's", () => {
    const forked = makeProc(300, { ppid: MAIN_PID, flags: 0x40, argv: ['npx', '-y', '@modelcontextprotocol/server-memory'] });
    expect(findOnce([forked]).instances).toEqual([]);
    expect(findOnce([{ ...forked, flags: 0 }]).instances).toHaveLength(1);
  });

  it('calls a live launcher orphaned once its parent in the app died', () => {
    const model = new GuardModel();
    const wrapper = makeProc(90, { ppid: MAIN_PID, argv: ['sh', '-c', 'start-servers'] });
    expect(model.scan([wrapper, ...makeNpmTree(100, { parent: 90 })], { nowMs: 0 }).instances[0]!.orphaned).toBe(false);
    expect(model.scan(makeNpmTree(100, { parent: INIT_PID }), { nowMs: 100 }).instances[0]!.orphaned).toBe(true);
  });

  it("does not take a new process that reuses a dead launcher's pid, nor its group", () => {
    const model = new GuardModel();
    model.scan(makeNpmTree(100), { nowMs: 0 });
    const reuser = makeProc(100, { startTicks: 9000, pgid: 100, sid: 100, ppid: INIT_PID, argv: ['node', 'worker.js'] });
    const child = makeProc(300, { startTicks: 9001, pgid: 100, sid: 100, ppid: 100, argv: ['sleep', '1'] });
    expect(model.scan([reuser, child], { nowMs: 100 }).instances).toEqual([]);
  });

  it('finds the server of a launcher that died before it was ever seen as one, by the session it created', () => {
    const model = new GuardModel();
    // Seen once under npm's interim title, which matches no pattern; then it aborts.
    model.scan([makeProc(100, { ppid: MAIN_PID, argv: ['npm'], threads: 11 })], { nowMs: 0 });
    const server = makeProc(102, { ppid: INIT_PID, pgid: 100, sid: 100, argv: ['node', '/root/.npm/_npx/abc/node_modules/.bin/mcp-server-everything'] });
    const { instances } = model.scan([server], { nowMs: 100 });
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ id: 'session:100', orphaned: true, launcherAlive: false });
    expect(instances[0]!.pgid).toBeUndefined();
  });
});
