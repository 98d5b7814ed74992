import { describe, expect, it } from 'vitest';
import { EMPTY_LINEAGE, findAppTree } from '../../src/guard/app-tree.js';
import { findInstances } from '../../src/guard/instances.js';
import { findOnce, GuardModel, INIT_PID, MAIN_PID, makeConfig, makeNpmTree, makeProc } from '../helpers/snapshots.js';

const { patterns } = makeConfig();

describe('findAppTree: only what the app started', () => {
  it('leaves alone launchers that are not descendants of the main child', () => {
    // Not PID 1 (npx metamcp-init): other npx processes on the machine are not ours.
    const stranger = makeNpmTree(300, { parent: 250 });
    expect(findOnce([makeProc(250, { ppid: 0, argv: ['bash'] }), ...stranger]).instances).toEqual([]);
  });

  it('leaves alone what docker exec left behind, reparented to PID 1', () => {
    const tail = makeProc(400, { ppid: INIT_PID, pgid: 0, sid: 0, argv: ['tail', '-f', '/var/log/mcp-server.log'] });
    const vim = makeProc(401, { ppid: INIT_PID, pgid: 401, sid: 401, argv: ['vim', 'src/mcp-server.ts'] });
    const model = new GuardModel();
    expect(model.scan([tail, vim], { nowMs: 0 }).instances).toEqual([]);
    expect(model.scan([tail, vim], { nowMs: 60_000 }).stops).toEqual([]);
  });

  it('never makes PID 1 or its group an instance, even when PID 1 is titled npm exec', () => {
    // ENTRYPOINT ["npx", "metamcp-init", …]: PID 1 is npm exec, the init its child.
    const pid1 = makeProc(1, { ppid: 0, pgid: 1, sid: 1, argv: ['npm exec metamcp-init -- node app.js'] });
    const init = makeProc(5, { ppid: 1, pgid: 1, sid: 1, argv: ['node', '/root/.npm/_npx/x/node_modules/.bin/metamcp-init'] });
    const main = makeProc(MAIN_PID, { ppid: 5, argv: ['node', 'app.js'] });
    const procs = new Map([pid1, init, main, ...makeNpmTree(100)].map((p) => [p.pid, p]));
    const app = findAppTree({ procs, initPid: 5, mainPid: MAIN_PID, lineage: EMPTY_LINEAGE });
    expect([...app.procs.keys()]).toEqual([100, 101, 102]);
    expect(app.protectedIds.has(1)).toBe(true);
    const { instances } = findInstances({ app, initPid: 5, patterns, known: new Map() });
    expect(instances.map((i) => i.pgid)).toEqual([100]);
  });

  it("forgets a session once nothing is left in it, so a later holder of that id is not the app's", () => {
    const model = new GuardModel();
    model.scan(makeNpmTree(100), { nowMs: 0 });
    model.scan([], { nowMs: 100 });
    const later = makeProc(150, { ppid: INIT_PID, pgid: 100, sid: 100, argv: ['npx', 'something-else'] });
    expect(model.scan([later], { nowMs: 200 }).instances).toEqual([]);
  });

  it("does not adopt a daemon that took the pid of a remembered session's leader and leads a session of that id", () => {
    const model = new GuardModel();
    model.scan(makeNpmTree(100), { nowMs: 0 });
    // The tree's last members exit on their own; the pid 100 comes round to a new process
    // that calls setsid, before any scan saw the session empty.
    const daemon = makeProc(100, { ppid: INIT_PID, pgid: 100, sid: 100, startTicks: 900, argv: ['npx', 'mcp-server-daemon'] });
    expect(model.scan([daemon], { nowMs: 100 }).instances).toEqual([]);
  });
});
