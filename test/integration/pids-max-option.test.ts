import { describe, expect, it } from 'vitest';
import { makePidsCgroup } from '../helpers/cgroups.js';
import { stopDecisions } from '../helpers/guard-log.js';
import { leakSimCommand } from '../helpers/leak-sim.js';
import { httpGet, reportAddressOf, sampleOf } from '../helpers/report-client.js';
import { rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

describe.runIf(rootTestsEnabled())('--pids-max, a limit the init cannot see (Kubernetes podPidsLimit)', () => {
  it('acts on it as on pids.max: headroom stops below it, and the metrics give it as the limit', async () => {
    // The cgroup's own limit is far away, as a container's is under a pod's.
    const cgroup = makePidsCgroup(2000);
    const sim = leakSimCommand(['--sessions-never-closed', '6', '--server-flags', '--threads 4']);
    const run = startInit({
      mode: 'pid1',
      prefix: cgroup.prefix,
      command: sim.command,
      initArgs: ['--pids-max', '100', '--metrics-listen', '127.0.0.1:0', '--start-grace', '1s', '--idle-after', '1s', '--crash-budget', 'unlimited'],
    });
    const address = await reportAddressOf(run);
    const decision = await waitFor(() => stopDecisions(run.logLines()).find((line) => line.reason === 'pids-headroom'), {
      timeoutMs: 60_000,
      what: 'a pids-headroom stop',
    });
    expect(decision.cgroup).toMatchObject({ pidsMax: 100 });
    expect((decision.cgroup as { pidsCurrent: number }).pidsCurrent).toBeGreaterThanOrEqual(80);
    const { body } = await httpGet(address, '/metrics');
    expect(sampleOf(body, 'metamcp_init_cgroup_pids_max')).toBe(100);
    expect(sampleOf(body, 'metamcp_init_guard_pids_high_mark')).toBe(80);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, 90_000);
});
