// Nothing secret on a command line leaves the init: the launchers' and the main child's
// arguments appear in no log line, no metric, no /status and no `status` output.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stopDecisions } from '../helpers/guard-log.js';
import { httpGet, reportAddressOf } from '../helpers/report-client.js';
import { LAUNCHER_SECRET_FORMS, MAIN_CHILD_SECRET_FORMS } from '../helpers/secret-forms.js';
import { BUNDLE, FIXTURES, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

describe('what the init publishes of command lines', () => {
  it('names every process by its program and package or script only: no secret in the logs, /metrics, /status or `status`', async () => {
    // The 30 forms, each a server of its own (its own key), and the main child's two.
    const run = startInit({
      mode: 'subreaper',
      command: ['node', `${FIXTURES}secret-launchers.js`, ...MAIN_CHILD_SECRET_FORMS.flatMap((form) => form.args)],
      env: { ...process.env, SECRET_LAUNCHER_ARGS: JSON.stringify(LAUNCHER_SECRET_FORMS.map((form) => form.args)) },
      initArgs: ['--metrics-listen', '127.0.0.1:0', '--log-level', 'trace', '--orphan-grace', '3s', '--interval', '250ms'],
    });
    const address = await reportAddressOf(run);
    // All of them seen once (the scan's trace line names every key), then published.
    await waitFor(() => run.logLines().some((line) => line.msg === 'scan' && Object.keys(line.keys as object).length === LAUNCHER_SECRET_FORMS.length), {
      timeoutMs: 60_000,
      what: `a scan that saw the ${LAUNCHER_SECRET_FORMS.length} servers`,
    });
    const metrics = (await httpGet(address, '/metrics')).body;
    const status = (await httpGet(address, '/status')).body;
    // Their launcher's parent, a helper of the app, is gone: each is stopped as an orphan, its key in two more lines.
    await waitFor(() => run.logLines().filter((line) => line.msg === 'stopped MCP instance').length >= LAUNCHER_SECRET_FORMS.length, {
      timeoutMs: 90_000,
      what: `${LAUNCHER_SECRET_FORMS.length} stops`,
    });
    const table = spawnSync(process.execPath, [BUNDLE, 'status', '--address', address], { encoding: 'utf8' });
    const json = spawnSync(process.execPath, [BUNDLE, 'status', '--json', '--address', address], { encoding: 'utf8' });
    await run.signal('SIGTERM');
    await run.exited;
    const outputs = { log: run.stderr(), metrics, status, table: table.stdout + table.stderr, json: json.stdout + json.stderr };
    // The outputs do name the servers: by program and script.
    expect(metrics).toContain('mcp-server-secret.js');
    expect(JSON.parse(status).guard.instances.length).toBe(LAUNCHER_SECRET_FORMS.length);
    expect(stopDecisions(run.logLines()).filter((line) => line.reason === 'orphan')).toHaveLength(LAUNCHER_SECRET_FORMS.length);
    for (const { form, secret } of [...LAUNCHER_SECRET_FORMS, ...MAIN_CHILD_SECRET_FORMS]) {
      for (const [where, text] of Object.entries(outputs)) expect(text.includes(secret), `${form} in ${where}`).toBe(false);
    }
  }, 180_000);
});
