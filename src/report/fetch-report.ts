import { get } from 'node:http';
import type { InitReport } from './init-report.js';
import { connectAddressOf, formatListenAddress, type ListenAddress } from './listen-address.js';

/** The running init's report, or what went wrong, in words a person can act on. */
export type FetchedReport = { ok: true; report: InitReport } | { ok: false; error: string };

/** Asks the init listening at `listen` for its report (GET /status). */
export function fetchReport(listen: ListenAddress, timeoutMs: number): Promise<FetchedReport> {
  const address = connectAddressOf(listen);
  const where = formatListenAddress(address);
  return new Promise((resolve) => {
    const request = get({ host: address.host, port: address.port, path: '/status', timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return resolve({ ok: false, error: `${where} answered ${response.statusCode}: is that the init's metrics address?` });
        try {
          resolve({ ok: true, report: JSON.parse(body) as InitReport });
        } catch {
          resolve({ ok: false, error: `${where} did not answer with the init's report: is that the init's metrics address?` });
        }
      });
    });
    request.on('timeout', () => {
      request.destroy();
      resolve({ ok: false, error: `no answer from ${where} within ${timeoutMs / 1000} s: the init may be stuck, or the address is another program's` });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED')
        resolve({ ok: false, error: `nothing listens on ${where}: is the init running here, with --metrics-listen ${formatListenAddress(listen)}?` });
      else if (error.code === 'EAGAIN' || error.code === 'EMFILE')
        resolve({ ok: false, error: `cannot open a connection to ${where} (${error.code}): the container may be at a limit` });
      else resolve({ ok: false, error: `cannot reach the init at ${where}: ${error.message}` });
    });
  });
}
