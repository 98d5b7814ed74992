import { get } from 'node:http';
import { type InitReport, REPORT_SCHEMA } from './init-report.js';
import { connectAddressOf, formatListenAddress, type ListenAddress } from './listen-address.js';

/** The running init's report, or what went wrong, in words a person can act on. */
export type FetchedReport = { ok: true; report: InitReport } | { ok: false; error: string };

/** A report is a few KiB (a few hundred with many instances); anything bigger is not the init's. */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;

/**
 * Asks the init listening at `listen` for its report (GET /status). The answer must come
 * whole within `timeoutMs` (not a timeout per byte: a server that trickles would hold the
 * client forever), be at most MAX_REPORT_BYTES, and have the report's shape: `status` runs
 * by `docker exec` inside the container, whose memory and pids it is charged to.
 */
export function fetchReport(listen: ListenAddress, timeoutMs: number): Promise<FetchedReport> {
  const address = connectAddressOf(listen);
  const where = formatListenAddress(address);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: FetchedReport) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      resolve(result);
    };
    const notTheInit = `${where} did not answer with the init's report: is that the init's metrics address?`;
    const request = get({ host: address.host, port: address.port, path: '/status', agent: false }, (response) => {
      if (response.statusCode !== 200) return finish({ ok: false, error: `${where} answered ${response.statusCode}: is that the init's metrics address?` });
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_REPORT_BYTES)
          return finish({ ok: false, error: `${where} answered with more than ${MAX_REPORT_BYTES / 1024 / 1024} MiB: not the init's report` });
        chunks.push(chunk);
      });
      response.on('end', () => {
        try {
          const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          const other = otherSchema(value);
          if (other) return finish({ ok: false, error: `${where} ${other}` });
          finish(isInitReport(value) ? { ok: true, report: value } : { ok: false, error: notTheInit });
        } catch {
          finish({ ok: false, error: notTheInit });
        }
      });
      response.on('error', () => finish({ ok: false, error: `${where} broke off its answer` }));
    });
    const deadline = setTimeout(
      () =>
        finish({ ok: false, error: `no whole answer from ${where} within ${timeoutMs / 1000} s: the init may be stuck, or the address is another program's` }),
      timeoutMs,
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      if (error.code === 'ECONNREFUSED')
        finish({ ok: false, error: `nothing listens on ${where}: is the init running here, with --metrics-listen ${formatListenAddress(listen)}?` });
      else if (error.code === 'EAGAIN' || error.code === 'EMFILE')
        finish({ ok: false, error: `cannot open a connection to ${where} (${error.code}): the container may be at a limit` });
      else finish({ ok: false, error: `cannot reach the init at ${where}: ${error.message}` });
    });
  });
}

/**
 * What to say of an init's report in a schema this one does not read (REPORT_SCHEMA): one of
 * another version, whose fields may mean other things. Undefined for any other answer.
 */
export function otherSchema(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { schema, version, init, health } = value as Record<string, unknown>;
  const looksLikeOne = typeof version === 'string' && typeof (init as { pid?: unknown } | null)?.pid === 'number' && typeof health === 'object';
  if (!looksLikeOne || schema === REPORT_SCHEMA) return undefined;
  const theirs = typeof schema === 'number' ? `schema ${schema}` : 'no schema (a version before 1)';
  return `is metamcp-init ${version}, whose report has ${theirs}; this metamcp-init reads schema ${REPORT_SCHEMA}: run the status command of the init in the container (docker exec <container> metamcp-init status)`;
}

/** Whether a parsed answer has what `status` reads of a report: its schema, and the fields it prints, of their types. */
export function isInitReport(value: unknown): value is InitReport {
  const object = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!object(value) || value.schema !== REPORT_SCHEMA || typeof value.version !== 'string' || typeof value.atMs !== 'number') return false;
  const { init, guard, health, cgroup } = value;
  if (!object(init) || typeof init.pid !== 'number' || typeof init.startedAtMs !== 'number') return false;
  if (!object(health) || typeof health.healthy !== 'boolean' || typeof health.state !== 'string' || typeof health.reason !== 'string') return false;
  if (!object(cgroup) || !object(value.signalsForwarded) || typeof value.zombiesReaped !== 'number') return false;
  if (!object(guard) || typeof guard.mode !== 'string' || !object(guard.limits) || !object(guard.stops)) return false;
  if (!Array.isArray(guard.instances) || !Array.isArray(guard.recentStops)) return false;
  const strings = (v: unknown, keys: readonly string[]) => object(v) && keys.every((key) => typeof v[key] === 'string');
  return (
    guard.instances.every((i) => strings(i, ['key']) && typeof (i as Record<string, unknown>).tasks === 'number') &&
    guard.recentStops.every((stop) => strings(stop, ['key', 'reason', 'why']) && typeof (stop as Record<string, unknown>).atMs === 'number')
  );
}
