import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { InitReport } from './init-report.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import { metricsOf } from './metrics.js';
import { writePrometheusText } from './prometheus-text.js';

/** A listening report server. */
export type ReportServer = { address: ListenAddress; stop: () => void };

// Scrapers and probes make a few small requests; anything more is not one of them.
const MAX_CONNECTIONS = 16;
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Serves the init's report on the event loop that is already there: no process, no
 * thread, so a scrape still answers when pids.current equals pids.max.
 *   GET /metrics  the Prometheus text format
 *   GET /healthz  200 or 503, with a one-line JSON reason
 *   GET /status   the whole report as JSON (for `metamcp-init status`)
 * A failure to listen is logged and the init goes on without it: PID 1 must not fail for
 * its dashboard.
 */
export function startReportServer(options: { listen: ListenAddress; report: () => InitReport; log: Logger }): Promise<ReportServer | undefined> {
  const { listen, report, log } = options;
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    try {
      answer(request, response, report);
    } catch (error) {
      log.error({ err: error, url: request.url }, 'report request failed; carrying on');
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end();
    }
  });
  server.maxConnections = MAX_CONNECTIONS;
  // The server must never keep the init alive, nor a slow client hold a socket forever.
  server.unref();
  return new Promise((resolve) => {
    server.once('error', (error) => {
      log.error({ err: error, listen: formatListenAddress(listen) }, 'cannot serve metrics and health: carrying on without them');
      resolve(undefined);
    });
    server.listen({ host: listen.host, port: listen.port }, () => {
      const bound = server.address() as AddressInfo;
      const address = { host: bound.address, port: bound.port };
      server.on('error', (error) => log.error({ err: error }, 'metrics server error; carrying on'));
      log.info({ listen: formatListenAddress(address), paths: ['/metrics', '/healthz', '/status'] }, 'serving metrics, health and status');
      resolve({
        address,
        stop: () => {
          server.close();
          server.closeAllConnections();
        },
      });
    });
  });
}

function answer(request: IncomingMessage, response: ServerResponse, report: () => InitReport): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain', 'only GET\n', { allow: 'GET, HEAD' });
    return;
  }
  const path = (request.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics':
      send(response, 200, 'text/plain; version=0.0.4; charset=utf-8', writePrometheusText(metricsOf(report())));
      return;
    case '/healthz': {
      const { health } = report();
      send(response, health.healthy ? 200 : 503, 'application/json', `${JSON.stringify(health)}\n`);
      return;
    }
    case '/status':
      send(response, 200, 'application/json', `${JSON.stringify(report())}\n`);
      return;
    default:
      send(response, 404, 'text/plain', 'not found: try /metrics, /healthz or /status\n');
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  response.end(body);
}
