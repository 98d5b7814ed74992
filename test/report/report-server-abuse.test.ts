// What other clients of the endpoint must not be able to do: fail the probes, hold up the
// event loop, or make the init build its report per request.
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { InitReport } from '../../src/report/init-report.js';
import { type ReportServer, startReportServer } from '../../src/report/report-server.js';
import { httpGet } from '../helpers/report-client.js';
import { reportOf } from '../helpers/reports.js';
import { waitFor } from '../helpers/wait-for.js';

const servers: ReportServer[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.stop();
});

async function serve(report: () => InitReport = () => reportOf()): Promise<{ host: string; port: number; address: string }> {
  const server = await startReportServer({ listen: { host: '127.0.0.1', port: 0 }, report, log: pino({ level: 'silent' }) });
  if (!server) throw new Error('did not listen');
  servers.push(server);
  return { ...server.address, address: `127.0.0.1:${server.address.port}` };
}

/** A raw connection, kept for the test's end; `closed` resolves when the server closes it. */
function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const openedAt = Date.now();
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - openedAt)));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => received, closed }));
    socket.once('error', reject);
  });
}

describe('the report server under abuse', () => {
  it('answers every probe while 80 other connections are held open, idle or a header byte at a time', async () => {
    const { port, address } = await serve();
    const held = await Promise.all(Array.from({ length: 80 }, () => open(port)));
    // Half of them trickle a request a byte at a time (slowloris), the rest say nothing.
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n';
    let sent = 0;
    const trickle = setInterval(() => {
      for (const { socket } of held.slice(0, 40)) socket.write(request[sent % request.length]!);
      sent += 1;
    }, 100);
    try {
      for (let probe = 0; probe < 10; probe += 1) expect((await httpGet(address, '/healthz', 2000)).status).toBe(200);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a connection that does not finish its headers within about 2 s', async () => {
    const { port } = await serve();
    const slow = await open(port);
    const timer = setInterval(() => slow.socket.write('X'), 200);
    slow.socket.write('GET /healthz HTTP/1.1\r\nX-Slow: ');
    try {
      const liveMs = await slow.closed;
      expect(liveMs).toBeLessThan(3500);
    } finally {
      clearInterval(timer);
    }
  });

  it('serves one request per connection, and closes it at a pipelined second one', async () => {
    let built = 0;
    const { port } = await serve(() => {
      built += 1;
      return reportOf();
    });
    const client = await open(port);
    const one = 'GET /status HTTP/1.1\r\nHost: x\r\n\r\n';
    client.socket.write(one.repeat(2000));
    await client.closed;
    expect(client.received().split('HTTP/1.1 ').length - 1).toBe(1);
    expect(built).toBe(1);
  });

  it('builds the report at most every 200 ms, however many ask', async () => {
    let built = 0;
    const { address } = await serve(() => {
      built += 1;
      return reportOf();
    });
    const startedAt = Date.now();
    await Promise.all(Array.from({ length: 60 }, (_, i) => httpGet(address, ['/healthz', '/metrics', '/status'][i % 3]!)));
    const tookMs = Date.now() - startedAt;
    expect(built).toBeLessThanOrEqual(Math.ceil(tookMs / 200) + 1);
  });

  it('forgets a connection the client closed, and keeps serving', async () => {
    const { port, address } = await serve();
    for (let i = 0; i < 100; i += 1) (await open(port)).socket.destroy();
    await waitFor(async () => (await httpGet(address, '/healthz')).status === 200, { what: 'a probe answered' });
  });
});
