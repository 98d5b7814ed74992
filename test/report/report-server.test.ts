import { request } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { InitReport } from '../../src/report/init-report.js';
import { formatListenAddress } from '../../src/report/listen-address.js';
import { type ReportServer, startReportServer } from '../../src/report/report-server.js';
import { httpGet, promtoolCheck } from '../helpers/report-client.js';
import { reportOf } from '../helpers/reports.js';
import { waitFor } from '../helpers/wait-for.js';

const servers: ReportServer[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.stop();
});

/** A server on a free loopback port that answers with `report()`. */
async function serve(report: () => InitReport = () => reportOf()): Promise<string> {
  const server = await startReportServer({ listen: { host: '127.0.0.1', port: 0 }, report, log: pino({ level: 'silent' }) });
  if (!server) throw new Error('did not listen');
  servers.push(server);
  return formatListenAddress(server.address);
}

function send(address: string, method: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startReportServer', () => {
  it('serves /metrics in the Prometheus text format, with its content type', async () => {
    const address = await serve();
    const response = await send(address, 'GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(promtoolCheck(response.body).ok).toBe(true);
  });

  it('answers /healthz with 200 or 503 and the health as one JSON line', async () => {
    let healthy = true;
    const address = await serve(() => reportOf((init) => (init.mainChild = { pid: 7, running: healthy })));
    expect(await httpGet(address, '/healthz')).toEqual({ status: 200, body: `${JSON.stringify(reportOf().health)}\n` });
    healthy = false;
    // The report is built at most every 200 ms: the change shows within that.
    const unhealthy = await waitFor(
      async () => {
        const answer = await httpGet(address, '/healthz');
        return answer.status === 503 && answer;
      },
      { timeoutMs: 2000, what: '503' },
    );
    expect(JSON.parse(unhealthy.body)).toMatchObject({ healthy: false, state: 'main-child-exited' });
  });

  it('serves the whole report on /status, and ignores a query string', async () => {
    const report = reportOf();
    const address = await serve(() => report);
    expect(JSON.parse((await httpGet(address, '/status?x=1')).body)).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('refuses other paths with 404 and other methods with 405; HEAD has no body', async () => {
    const address = await serve();
    expect((await send(address, 'GET', '/')).status).toBe(404);
    expect(await send(address, 'POST', '/metrics')).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
    expect(await send(address, 'HEAD', '/healthz')).toMatchObject({ status: 200, body: '' });
  });

  it('answers 500 when the report fails, and goes on serving', async () => {
    let fail = true;
    const address = await serve(() => {
      if (fail) throw new Error('boom');
      return reportOf();
    });
    expect((await httpGet(address, '/metrics')).status).toBe(500);
    fail = false;
    expect((await httpGet(address, '/metrics')).status).toBe(200);
  });

  it('resolves to undefined, and does not throw, when the address is taken', async () => {
    const address = await serve();
    const port = Number(address.split(':')[1]);
    const second = await startReportServer({ listen: { host: '127.0.0.1', port }, report: () => reportOf(), log: pino({ level: 'silent' }) });
    expect(second).toBeUndefined();
  });
});
