import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { limitConnections } from './connection-limits.js';
import { parseFirstRequestOnly } from './first-request-only.js';
import type { InitReport } from './init-report.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import { metricsOf } from './metrics.js';
import { writePrometheusText } from './prometheus-text.js';

/** A listening report server. */
export type ReportServer = { address: ListenAddress; stop: () => void };

// A probe or a scrape is one small request on a connection of its own. More than this many
// connections, in all or from one address, and the oldest go (connection-limits.ts).
const MAX_CONNECTIONS = 64;
const MAX_PER_ADDRESS = 8;
// A request's headers must be in within this, and the whole request within REQUEST_TIMEOUT_MS;
// Node checks every CHECK_EVERY_MS (30 s by default: a header a second then lived 19-30 s).
const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 3000;
const CHECK_EVERY_MS = 250;
// A connection silent this long goes.
const IDLE_TIMEOUT_MS = 3000;
// Headers beyond this are refused: a probe sends a few hundred bytes.
const MAX_HEADER_BYTES = 8192;
// The report, and each body made of it, is built at most this often, however many ask.
const REPORT_MAX_AGE_MS = 200;

/**
 * Serves the init's report on the event loop that is already there: no process, no
 * thread, so a scrape still answers when pids.current equals pids.max.
 *   GET /metrics  the Prometheus text format
 *   GET /healthz  200 or 503, with a one-line JSON reason
 *   GET /status   the whole report as JSON (for `metamcp-init status`)
 * It must never hold up PID 1's signals and reaping, nor fail a probe for what other
 * clients do: one request per connection (then it is closed; a pipelined second request
 * closes it at once), short timeouts checked often, the oldest connections pushed out
 * rather than new ones refused, and the report built at most every REPORT_MAX_AGE_MS.
 * A failure to listen is logged and the init goes on without it: PID 1 must not fail for
 * its dashboard.
 */
export function startReportServer(options: { listen: ListenAddress; report: () => InitReport; log: Logger }): Promise<ReportServer | undefined> {
  const { listen, log } = options;
  const bodies = cachedBodies(options.report, REPORT_MAX_AGE_MS);
  const requestsOf = new WeakMap<Socket, number>();
  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CHECK_EVERY_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
      keepAlive: false,
    },
    (request, response) => {
      const socket = request.socket;
      const served = (requestsOf.get(socket) ?? 0) + 1;
      requestsOf.set(socket, served);
      // One request per connection: a second one on it is pipelining, which a probe never does.
      if (served > 1) {
        socket.destroy();
        return;
      }
      try {
        answer(request, response, bodies);
      } catch (error) {
        log.error({ err: error, url: request.url }, 'report request failed; carrying on');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
        response.end();
      }
    },
  );
  const connections = limitConnections({ maxConnections: MAX_CONNECTIONS, maxPerAddress: MAX_PER_ADDRESS });
  server.on('connection', (socket: Socket) => {
    parseFirstRequestOnly(socket);
    connections.admit(socket);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  });
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

/** The bodies the server sends, each built once per report, and the report at most every `maxAgeMs`. */
type Bodies = { metrics: () => string; health: () => { status: number; body: string }; status: () => string };

function cachedBodies(report: () => InitReport, maxAgeMs: number): Bodies {
  let madeAtMs = -Infinity;
  let made: Partial<Record<'metrics' | 'health' | 'status', unknown>> & { report?: InitReport } = {};
  const current = () => {
    const nowMs = Date.now();
    if (made.report === undefined || nowMs - madeAtMs >= maxAgeMs) {
      // A report that fails is not kept: the next request tries again.
      made = { report: report() };
      madeAtMs = nowMs;
    }
    return made;
  };
  const once =
    <T>(name: 'metrics' | 'health' | 'status', build: (report: InitReport) => T): (() => T) =>
    () => {
      const now = current();
      if (!(name in now)) now[name] = build(now.report!);
      return now[name] as T;
    };
  return {
    metrics: once('metrics', (r) => writePrometheusText(metricsOf(r))),
    health: once('health', (r) => ({ status: r.health.healthy ? 200 : 503, body: `${JSON.stringify(r.health)}\n` })),
    status: once('status', (r) => `${JSON.stringify(r)}\n`),
  };
}

function answer(request: IncomingMessage, response: ServerResponse, bodies: Bodies): void {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain', 'only GET\n', { allow: 'GET, HEAD' });
    return;
  }
  const path = (request.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics':
      send(response, 200, 'text/plain; version=0.0.4; charset=utf-8', bodies.metrics());
      return;
    case '/healthz': {
      const { status, body } = bodies.health();
      send(response, status, 'application/json', body);
      return;
    }
    case '/status':
      send(response, 200, 'application/json', bodies.status());
      return;
    default:
      send(response, 404, 'text/plain', 'not found: try /metrics, /healthz or /status\n');
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    connection: 'close',
    ...headers,
  });
  response.end(body);
}
