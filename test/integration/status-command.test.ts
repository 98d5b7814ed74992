import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { InitReport } from '../../src/report/init-report.js';
import { leakSimCommand } from '../helpers/leak-sim.js';
import { reportAddressOf } from '../helpers/report-client.js';
import { BUNDLE, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

/** Runs `metamcp-init status ...`, optionally as another user. */
function status(args: string[], { asUser, env = {} }: { asUser?: number; env?: NodeJS.ProcessEnv } = {}) {
  const user = asUser === undefined ? [] : ['setpriv', '--reuid', String(asUser), '--regid', String(asUser), '--clear-groups'];
  const argv = [...user, process.execPath, BUNDLE, 'status', ...args];
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(rootTestsEnabled())('metamcp-init status, against a running init as PID 1', () => {
  it('prints the instances by key, the limits and the health, as root and as a non-root user', async () => {
    const sim = leakSimCommand(['--sessions-never-closed', '3']);
    const run = startInit({ mode: 'pid1', command: sim.command, initArgs: ['--metrics-listen', '127.0.0.1:0', '--max-per-command', '5'] });
    const address = await reportAddressOf(run);
    await run.waitForStdout('scenario-done', 30_000);
    const json = await waitFor(
      () => {
        const result = status(['--json', '--address', address]);
        const report = JSON.parse(result.stdout) as InitReport;
        return report.guard.instances.length === 3 && report;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'three instances in the report' },
    );
    expect(json.mainChild).toMatchObject({ running: true });
    expect(json.health.healthy).toBe(true);

    for (const asUser of [undefined, 65534]) {
      const result = status(['--address', address], asUser === undefined ? {} : { asUser });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^health: {5}ok: /m);
      expect(result.stdout).toMatch(/^MCP instances: 3$/m);
      expect(result.stdout).toMatch(/^3\/5\s+.*\snpm exec @modelcontextprotocol\/server-everything$/m);
    }
    // In a container, `docker exec` finds the address in the init's own variable.
    const fromEnv = status([], { env: { METAMCP_INIT_METRICS_LISTEN: address } });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toMatch(/^MCP instances: 3$/m);
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  }, 90_000);

  it('says what went wrong when it cannot reach the init', async () => {
    const closed = status(['--address', '127.0.0.1:1']);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toBe('metamcp-init status: nothing listens on 127.0.0.1:1: is the init running here, with --metrics-listen 127.0.0.1:1?\n');
    const unknown = status([]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/the init's metrics address is not known: pass --address <ip:port>, or set METAMCP_INIT_METRICS_LISTEN/);
    const wrong = status(['--address', 'localhost:9464']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/DNS lookup/);
  });
});
