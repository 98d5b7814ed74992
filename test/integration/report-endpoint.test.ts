import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeMemoryCgroup, makePidsCgroup } from '../helpers/cgroups.js';
import { stopDecisions } from '../helpers/guard-log.js';
import { leakSimCommand } from '../helpers/leak-sim.js';
import { httpGet, promtoolCheck, reportAddressOf, sampleOf, samplesOf } from '../helpers/report-client.js';
import { FIXTURES, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const LISTEN = ['--metrics-listen', '127.0.0.1:0'];

function tasksOf(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

function rssBytesOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

/** Polls /healthz until it answers `status`; returns its JSON body. */
// Waits for a given state, not just a status: in the first milliseconds the answer is a 503
// main-child-not-started, which is not what any test here is after. A reason, when given,
// is waited for too: the figures in it are the guard's last scan's, one poll behind.
async function healthzUntil(address: string, state: string, timeoutMs: number, reason = /./): Promise<{ healthy: boolean; state: string; reason: string }> {
  const status = state === 'ok' ? 200 : 503;
  const answer = await waitFor(
    async () => {
      const response = await httpGet(address, '/healthz');
      if (response.status !== status) return false;
      if (status === 200) return response;
      const body = JSON.parse(response.body);
      return body.state === state && reason.test(body.reason) && response;
    },
    { timeoutMs, intervalMs: 200, what: `/healthz to answer ${status} ${state} ${reason}` },
  );
  expect(answer.body.trim().split('\n')).toHaveLength(1);
  return JSON.parse(answer.body);
}

describe.runIf(rootTestsEnabled())('/metrics, /healthz and /status of the init as PID 1', () => {
  it('during a leak storm in a pids cgroup, every scrape passes promtool and its figures match the cgroup and /proc', async () => {
    const cgroup = makePidsCgroup(150);
    const sim = leakSimCommand(['--storm', '10', '--storm-seconds', '4', '--server-flags', '--threads 4']);
    const run = startInit({
      mode: 'pid1',
      prefix: cgroup.prefix,
      command: sim.command,
      initArgs: [...LISTEN, '--max-per-command', '3', '--stop-grace', '1s', '--crash-budget', 'unlimited'],
    });
    const address = await reportAddressOf(run);
    const init = await run.initRef();
    // The endpoint listens before the main child is spawned: under load CI's first scrape
    // came in between, and read main_child_running 0.
    await healthzUntil(address, 'ok', 30_000);
    const scrapes: string[] = [];
    let peak = 0;
    // The endpoint builds its report at most every 200 ms (a flood of requests must not cost a
    // report each), so a scrape reads pids.current as it was up to that long before the request.
    const seen: { atMs: number; tasks: number }[] = [];
    const sampler = setInterval(() => {
      try {
        seen.push({ atMs: Date.now(), tasks: cgroup.current() });
      } catch {
        // The cgroup is gone: the test is over.
      }
    }, 10);
    onTestFinished(() => clearInterval(sampler));
    while (!run.stdout().toString().includes('scenario-done')) {
      const sentAtMs = Date.now();
      const before = cgroup.current();
      const { status, body } = await httpGet(address, '/metrics');
      const after = cgroup.current();
      expect(status).toBe(200);
      // Read between the report's oldest moment and the answer; a storm moves it by a tree
      // (23 tasks) at most between two samples here.
      const around = [before, after, ...seen.filter((s) => s.atMs >= sentAtMs - 300).map((s) => s.tasks)];
      const current = sampleOf(body, 'metamcp_init_cgroup_pids_current')!;
      expect(current).toBeGreaterThanOrEqual(Math.min(...around) - 23);
      expect(current).toBeLessThanOrEqual(Math.max(...around) + 23);
      expect(sampleOf(body, 'metamcp_init_cgroup_pids_max')).toBe(cgroup.max);
      // If the app ever ends during the storm, say what the init and the app said last.
      const running = sampleOf(body, 'metamcp_init_main_child_running');
      const lastWords = () => JSON.stringify({ init: run.logLines().slice(-5), app: sim.report().slice(-5) });
      expect(running, running === 1 ? '' : lastWords()).toBe(1);
      peak = Math.max(peak, current);
      scrapes.push(body);
      if (scrapes.length > 400) throw new Error('the storm never ended');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(scrapes.length).toBeGreaterThan(5);
    expect(peak).toBeGreaterThan(cgroup.max * 0.5);
    // promtool after the storm, on every scrape of it: a check of 1 s on a loaded machine must
    // not thin out the scrapes taken during it.
    for (const body of scrapes) expect(promtoolCheck(body)).toEqual({ ok: true, output: '' });

    // Once the storm is over the figures stand still: they match exactly.
    const settled = await waitFor(
      async () => {
        const before = { tasks: tasksOf(init.pid), current: cgroup.current(), procs: cgroup.pids().length };
        await new Promise((resolve) => setTimeout(resolve, 1500)); // a full scan interval
        const { body } = await httpGet(address, '/metrics');
        const after = { tasks: tasksOf(init.pid), current: cgroup.current(), procs: cgroup.pids().length };
        return JSON.stringify(before) === JSON.stringify(after) && { body, ...after, rss: rssBytesOf(init.pid) };
      },
      { timeoutMs: 60_000, what: 'the cgroup to stand still for a scan interval' },
    );
    expect(sampleOf(settled.body, 'metamcp_init_cgroup_pids_current')).toBe(settled.current);
    expect(sampleOf(settled.body, 'metamcp_init_tasks')).toBe(settled.tasks);
    // The namespace is the cgroup's processes but unshare, which stays outside it.
    expect(sampleOf(settled.body, 'metamcp_init_guard_processes')).toBe(settled.procs - 1);
    expect(Math.abs(sampleOf(settled.body, 'metamcp_init_resident_memory_bytes')! - settled.rss)).toBeLessThan(settled.rss * 0.1);
    const instanceTasks = samplesOf(settled.body, 'metamcp_init_instance_tasks').reduce((sum, s) => sum + s.value, 0);
    expect(instanceTasks).toBeGreaterThan(0);
    expect(instanceTasks).toBeLessThan(settled.current);
    const stopsCounted = samplesOf(settled.body, 'metamcp_init_stops_total').reduce((sum, s) => sum + s.value, 0);
    expect(stopsCounted).toBe(stopDecisions(run.logLines()).length);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, 180_000);

  it('adds no task to the init, however many scrapes come', async () => {
    const command = [process.execPath, `${FIXTURES}print-signals.js`, '--exit-on', 'SIGTERM'];
    const plain = startInit({ mode: 'pid1', command });
    const serving = startInit({ mode: 'pid1', command, initArgs: LISTEN });
    const address = await reportAddressOf(serving);
    await plain.waitForStdout('ready');
    await serving.waitForStdout('ready');
    const [plainInit, servingInit] = [await plain.initRef(), await serving.initRef()];
    const tasksBefore = tasksOf(servingInit.pid);
    expect(tasksBefore).toBe(tasksOf(plainInit.pid));
    let most = tasksBefore;
    for (let round = 0; round < 10; round += 1) {
      await Promise.all(['/metrics', '/healthz', '/status', '/metrics', '/nothing'].map((path) => httpGet(address, path)));
      most = Math.max(most, tasksOf(servingInit.pid));
    }
    expect(most).toBe(tasksBefore);
    await plain.signal('SIGTERM');
    await serving.signal('SIGTERM');
    expect((await serving.exited).code).toBe(0);
  }, 60_000);

  it('answers when pids.current equals pids.max, and /healthz says stuck when nothing there is an MCP instance', async () => {
    const cgroup = makePidsCgroup(60);
    const run = startInit({
      mode: 'pid1',
      prefix: cgroup.prefix,
      initArgs: [...LISTEN, '--grace', '2s'],
      command: [process.execPath, `${FIXTURES}fill-pids.js`, '--exit-on', 'SIGTERM'],
    });
    const address = await reportAddressOf(run);
    await run.waitForStdout('full', 30_000);
    expect(cgroup.current()).toBe(cgroup.max);
    const metrics = await httpGet(address, '/metrics');
    expect(metrics.status).toBe(200);
    expect(sampleOf(metrics.body, 'metamcp_init_cgroup_pids_current')).toBe(cgroup.max);
    const stuck = /^pids 60 of 60 .*no MCP instance is left that the guard may stop$/;
    const health = await healthzUntil(address, 'stuck-at-pids-limit', 30_000, stuck);
    expect(health).toMatchObject({ healthy: false, state: 'stuck-at-pids-limit' });
    expect(health.reason).toMatch(stuck);
    expect(cgroup.current()).toBe(cgroup.max);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, 90_000);

  it('/healthz says stuck at the memory limit when the working set is past the critical mark with no MCP instance', async () => {
    // 400 MiB, headroom 60%: critical at 280 MiB. The main child holds 280 MiB, the init and
    // the child's Node about 40 MiB more (measured): past the mark, short of the limit.
    const cgroup = makeMemoryCgroup(400 * 2 ** 20);
    const hog = `const b = Buffer.alloc(280 * 2 ** 20, 1); console.log('held', b.length); setInterval(() => {}, 1e6); process.on('SIGTERM', () => process.exit(0));`;
    const run = startInit({ mode: 'pid1', prefix: cgroup.prefix, initArgs: [...LISTEN, '--memory-headroom', '60%'], command: [process.execPath, '-e', hog] });
    const address = await reportAddressOf(run);
    await run.waitForStdout('held', 30_000);
    const health = await healthzUntil(address, 'stuck-at-memory-limit', 30_000);
    expect(health).toMatchObject({ healthy: false, state: 'stuck-at-memory-limit' });
    expect(cgroup.oomKills()).toBe(0);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, 90_000);

  it('/healthz says the main child exited while the init stops what is left', async () => {
    const run = startInit({
      mode: 'pid1',
      initArgs: [...LISTEN, '--grace', '30s'],
      command: ['sh', '-c', `${process.execPath} ${FIXTURES}ignore-term.js & sleep 3; exit 3`],
    });
    const address = await reportAddressOf(run);
    await healthzUntil(address, 'ok', 30_000);
    const health = await healthzUntil(address, 'main-child-exited', 30_000);
    expect(health).toMatchObject({ healthy: false, state: 'main-child-exited' });
    expect(health.reason).toContain('with status 3');
  }, 60_000);

  it('/healthz says the guard is not scanning when its scans fail (no /proc: ps fails too)', async () => {
    // A mount namespace with an empty /proc: the guard falls back to ps, which needs /proc.
    const run = startInit({
      mode: 'subreaper',
      prefix: ['unshare', '--mount', '--pid', '--fork', 'sh', '-c', 'mount -t tmpfs none /proc && exec "$@"', 'sh'],
      initArgs: LISTEN,
      command: ['sleep', '1000'],
    });
    const address = await reportAddressOf(run);
    const health = await healthzUntil(address, 'guard-not-scanning', 40_000);
    expect(health).toMatchObject({ healthy: false, state: 'guard-not-scanning' });
    expect(health.reason).toMatch(/no scan has completed; the last error: .*mount -t proc/);
    // Failing scans are said once a minute, not at every one.
    expect(run.logLines().filter((line) => line.msg === 'guard scan failed; carrying on')).toHaveLength(1);
  }, 60_000);
});
