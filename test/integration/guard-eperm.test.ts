// As a non-root user, the guard may meet instances it cannot signal (a setuid server that
// became root). Such a stop is said once, as failed, and never retried in a loop.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quickTrims } from '../helpers/quick-trims.js';
import { type RunningInit, rootTestsEnabled, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const lines = (run: RunningInit, pattern: RegExp) => run.logLines().filter((line) => pattern.test(String(line.msg)));

describe.runIf(rootTestsEnabled())('the guard as a non-root PID 1', () => {
  let dir: string;
  let rootServer: string;

  beforeAll(() => {
    // A setuid-root program that becomes root for good, then runs as an "MCP server".
    dir = mkdtempSync('/var/tmp/metamcp-init-eperm-');
    chmodSync(dir, 0o755);
    writeFileSync(
      join(dir, 'root-server.c'),
      `#include <unistd.h>
int main(void) {
  char *argv[] = {"mcp-server-root", "1000", 0};
  if (setgid(0) || setuid(0)) return 1;
  execv("/bin/sleep", argv);
  return 1;
}
`,
    );
    rootServer = join(dir, 'root-server');
    const cc = spawnSync('cc', ['-o', rootServer, join(dir, 'root-server.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    chmodSync(rootServer, 0o4755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says once that it cannot stop an instance the kernel will not let it signal, and says what was left', async () => {
    const run = startInit({
      mode: 'pid1',
      // unshare needs root; the init itself runs as uid 4242 (PID 1 of the namespace).
      // Three: a SIGINT spares the oldest and the youngest of a key, which a pool hands on.
      command: ['sh', '-c', `${rootServer} & ${rootServer} & ${rootServer} & exec sleep 1000`],
      initArgs: [...quickTrims(['--max-per-command', '1'], '500ms'), '--grace', '1s'],
      wrapInit: ['setpriv', '--reuid', '4242', '--regid', '4242', '--clear-groups'],
    });
    await waitFor(() => lines(run, /^cannot stop MCP instance/).length === 1, { timeoutMs: 30_000, what: 'the failed stop to be said' });
    const failed = lines(run, /^cannot stop MCP instance/)[0]!;
    expect(failed).toMatchObject({ level: 'error', reason: 'duplicate', termed: 0, killed: 0 });
    expect(failed.failed as number).toBeGreaterThan(0);
    // Several more scans and stop-graces go by: nothing is tried again.
    const saidAt = Date.now();
    await waitFor(() => Date.now() - saidAt >= 3000, { what: 'three seconds of scans' });
    expect(lines(run, /^stopping MCP instance/)).toHaveLength(1);
    expect(lines(run, /^(stopped MCP instance|cannot stop MCP instance)/)).toHaveLength(1);
    await run.signal('SIGTERM');
    await run.exited;
    const last = run.logLines().at(-1)!;
    expect(last).toMatchObject({ level: 'warn', left: 3 });
    expect(String(last.msg)).toMatch(/^main child exited; 3 processes would not go/);
  });
});
