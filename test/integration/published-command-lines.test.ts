// What the init publishes of the app's command lines: MCP servers take credentials there, and
// the log, /metrics and /status go to log stores, Prometheus and whoever reaches the endpoint.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { InitReport } from '../../src/report/init-report.js';
import { httpGet, reportAddressOf } from '../helpers/report-client.js';
import { BUNDLE, FIXTURES, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRETS = ['sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'Pa55w0rd'];
const COMMAND_LINES = [
  `npx -y @acme/mcp-server-stripe --api-key=${SECRETS[0]}`,
  `env GITHUB_PERSONAL_ACCESS_TOKEN=${SECRETS[1]} npx -y @modelcontextprotocol/server-github`,
  `npx -y @x/mcp-server-postgres postgresql://admin:${SECRETS[2]}@db.internal/app`,
  // A server named to take over the terminal of whoever runs `status`: title, clear, fake health, clipboard.
  'npx -y \u001b]0;OWNED\u0007\u001b[2J\u001b[H\u001b[32mhealth: ok\u001b[0m\u001b]52;c;b3duZWQ=\u0007',
];

function status(address: string) {
  const result = spawnSync(process.execPath, [BUNDLE, 'status', '--address', address], { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function startWithSecrets(initArgs: string[]) {
  const run = startInit({
    mode: 'pid1',
    initArgs: ['--metrics-listen', '127.0.0.1:0', '--interval', '200ms', '--log-level', 'trace', ...initArgs],
    command: ['node', `${FIXTURES}hostile-cmdlines.js`, ...COMMAND_LINES.flatMap((line) => ['--named', line])],
  });
  const address = await reportAddressOf(run);
  await waitFor(async () => (JSON.parse((await httpGet(address, '/status')).body) as InitReport).guard.instances.length === COMMAND_LINES.length, {
    timeoutMs: 30_000,
    what: `${COMMAND_LINES.length} instances in the report`,
  });
  return { run, address };
}

describe.runIf(rootTestsEnabled())('command lines the init publishes, as PID 1', () => {
  it('publishes their program and package only in the log, /metrics, /status and the status table, and prints no control character', async () => {
    const { run, address } = await startWithSecrets([]);
    const published = {
      log: run.stderr(),
      metrics: (await httpGet(address, '/metrics')).body,
      status: (await httpGet(address, '/status')).body,
      table: status(address).stdout,
    };
    for (const [where, text] of Object.entries(published)) for (const secret of SECRETS) expect(text.includes(secret), `${secret} in ${where}`).toBe(false);
    expect(published.metrics).toMatch(/npm exec @acme\/mcp-server-stripe #[0-9a-f]{6}/);
    expect(published.table).toMatch(/npm exec @acme\/mcp-server-stripe #[0-9a-f]{6}/);
    expect(published.metrics).not.toContain('--api-key');
    // No ESC, no BEL reaches the terminal; a package word that is no name is not shown at all.
    for (const control of ['\u001b', '\u0007', '\u009b']) expect(published.table.includes(control)).toBe(false);
    expect(published.table).not.toContain('OWNED');
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('publishes them whole, masked, when told to (--show-command-lines), the escape sequences as text', async () => {
    const { run, address } = await startWithSecrets(['--show-command-lines']);
    const metrics = (await httpGet(address, '/metrics')).body;
    const table = status(address).stdout;
    expect(metrics).toContain('--api-key=***');
    expect(table).toContain('--api-key=***');
    for (const secret of SECRETS) expect(metrics.includes(secret) || table.includes(secret), secret).toBe(false);
    for (const control of ['\u001b', '\u0007', '\u009b']) expect(table.includes(control)).toBe(false);
    expect(table).toContain('\\x1b]0;OWNED\\x07');
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });
});
