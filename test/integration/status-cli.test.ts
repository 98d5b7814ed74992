// `metamcp-init status` against endpoints that are not a well-behaved init: what it prints
// reaches a terminal as text only, and it ends when interrupted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLE } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server on loopback answering /status with `answer`, or never when it is undefined. */
async function serve(answer: string | undefined): Promise<string> {
  const server = createServer((_request, response) => {
    if (answer !== undefined) response.end(answer);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function status(args: string[]) {
  const child = spawn(process.execPath, [BUNDLE, 'status', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, out: () => ({ stdout, stderr }) };
}

describe('metamcp-init status', () => {
  it("prints another version's report error with its control sequences as text", async () => {
    const address = await serve(JSON.stringify({ schema: 99, version: '9\u001b[2J\u001b]52;c;b3duZWQ=\u0007', init: { pid: 1 }, health: {} }));
    const run = status(['--address', address]);
    const [code] = await run.exited;
    const { stderr } = run.out();
    expect(code).toBe(1);
    for (const control of ['\u001b', '\u0007']) expect(stderr.includes(control)).toBe(false);
    expect(stderr).toContain('\\x1b[2J');
  });

  it('ends at once on SIGINT and SIGTERM while it waits for an answer, as a shell command does', async () => {
    const address = await serve(undefined);
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const run = status(['--address', address, '--timeout', '20s']);
      // Its handlers are in once it has connected: the server sees the request.
      await waitFor(() => new Promise<boolean>((resolve) => servers[0]!.getConnections((_error, count) => resolve(count > 0))), { what: 'the connection' });
      const sentAt = Date.now();
      run.child.kill(signal);
      const [exitCode] = await run.exited;
      expect(exitCode, signal).toBe(code);
      expect(Date.now() - sentAt).toBeLessThan(5000);
    }
  });
});
