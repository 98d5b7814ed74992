import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchReport } from '../../src/report/fetch-report.js';
import { reportOf } from '../helpers/reports.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server on a free loopback port whose every answer is `status` and `body`; `hang` never answers. */
async function fakeInit(status: number, body: string, hang = false): Promise<number> {
  const server = createServer((_, response) => {
    if (hang) return;
    response.writeHead(status).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('fetchReport', () => {
  it('gives the report the init sent', async () => {
    const report = reportOf();
    const port = await fakeInit(200, JSON.stringify(report));
    expect(await fetchReport({ host: '127.0.0.1', port }, 3000)).toEqual({ ok: true, report: JSON.parse(JSON.stringify(report)) });
  });

  it('reaches a wildcard address on loopback', async () => {
    const port = await fakeInit(200, JSON.stringify(reportOf()));
    expect((await fetchReport({ host: '0.0.0.0', port }, 3000)).ok).toBe(true);
  });

  it('says nothing listens when the connection is refused', async () => {
    const port = await fakeInit(200, '');
    servers.pop()?.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await fetchReport({ host: '127.0.0.1', port }, 3000)).toEqual({
      ok: false,
      error: `nothing listens on 127.0.0.1:${port}: is the init running here, with --metrics-listen 127.0.0.1:${port}?`,
    });
  });

  it('says when the address answers, but not as the init', async () => {
    const notFound = await fakeInit(404, 'no');
    expect(await fetchReport({ host: '127.0.0.1', port: notFound }, 3000)).toMatchObject({ ok: false, error: expect.stringContaining('answered 404') });
    const notJson = await fakeInit(200, '<html>');
    expect(await fetchReport({ host: '127.0.0.1', port: notJson }, 3000)).toMatchObject({
      ok: false,
      error: expect.stringContaining("did not answer with the init's report"),
    });
  });

  it('gives up after the timeout', async () => {
    const port = await fakeInit(200, '', true);
    expect(await fetchReport({ host: '127.0.0.1', port }, 200)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^no whole answer from 127\.0\.0\.1:\d+ within 0\.2 s/),
    });
  });
});

describe('fetchReport against a hostile server', () => {
  /** A server whose answer is written by `write`. */
  async function hostile(write: (response: import('node:http').ServerResponse) => void): Promise<number> {
    const server = createServer((_, response) => write(response));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('gives up at its deadline on an answer that trickles a byte at a time', async () => {
    const port = await hostile((response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write(' '), 50);
      response.on('close', () => clearInterval(timer));
    });
    const startedAt = Date.now();
    expect(await fetchReport({ host: '127.0.0.1', port }, 500)).toMatchObject({ ok: false, error: expect.stringContaining('no whole answer') });
    expect(Date.now() - startedAt).toBeLessThan(1500);
  });

  it('refuses an answer larger than a report can be, without keeping it', async () => {
    const port = await hostile((response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 'x');
      const send = () => {
        while (response.write(chunk)) {}
      };
      response.on('drain', send);
      send();
    });
    expect(await fetchReport({ host: '127.0.0.1', port }, 5000)).toMatchObject({ ok: false, error: expect.stringContaining('more than 4 MiB') });
  });

  it('says which schema an init of another version answered with, and what to run instead', async () => {
    const report = { ...JSON.parse(JSON.stringify(reportOf())), schema: 2, version: '2.0.0' };
    const port = await hostile((response) => response.writeHead(200).end(JSON.stringify(report)));
    const fetched = await fetchReport({ host: '127.0.0.1', port }, 3000);
    expect(fetched).toMatchObject({
      ok: false,
      error: expect.stringContaining('metamcp-init 2.0.0, whose report has schema 2; this metamcp-init reads schema 1'),
    });
    expect(fetched).toMatchObject({ error: expect.stringContaining('metamcp-init status') });
  });

  it.each([['{}'], ['null'], ['[]'], ['{"version":"1","atMs":0,"init":{},"guard":{}}']])("says %s is not the init's report", async (body) => {
    const port = await hostile((response) => response.writeHead(200).end(body));
    expect(await fetchReport({ host: '127.0.0.1', port }, 3000)).toMatchObject({
      ok: false,
      error: expect.stringContaining("did not answer with the init's report"),
    });
  });
});
