import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFirstRequestOnly } from '../../src/report/first-request-only.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server that counts its handler's calls, with or without the wrapper. */
async function counting(wrap: boolean): Promise<{ port: number; calls: () => number }> {
  let calls = 0;
  const server = createServer({ keepAlive: false }, (_request, response) => {
    calls += 1;
    response.end('ok');
  });
  if (wrap) server.on('connection', parseFirstRequestOnly);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, calls: () => calls };
}

/** Writes `chunks` on one connection and resolves with what came back once it closes. */
function exchange(port: number, chunks: Buffer[]): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const socket = connect(port, '127.0.0.1', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    socket.setEncoding('utf8').on('data', (data: string) => (received += data));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
  });
}

describe('parseFirstRequestOnly', () => {
  const pipelined = Buffer.from('GET /status HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));

  it('lets the handler see one request of a chunk of 2000 pipelined ones, where Node alone calls it for all of them', async () => {
    const plain = await counting(false);
    await exchange(plain.port, [pipelined]);
    expect(plain.calls()).toBeGreaterThan(1000);
    const wrapped = await counting(true);
    const answer = await exchange(wrapped.port, [pipelined]);
    expect(wrapped.calls()).toBe(1);
    expect(answer.split('HTTP/1.1 ').length - 1).toBe(1);
  });

  it('finds the end of the headers when it is split between chunks', async () => {
    const wrapped = await counting(true);
    const answer = await exchange(wrapped.port, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r'), Buffer.from('\n\r'), Buffer.from('\nGET / HTTP/1.1\r\n\r\n')]);
    expect(answer).toContain('HTTP/1.1 200');
    expect(wrapped.calls()).toBe(1);
  });
});
