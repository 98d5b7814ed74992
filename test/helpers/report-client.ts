// Reads the init's report endpoint the way Prometheus, a probe and an operator do.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { RunningInit } from './start-init.js';
import { waitFor } from './wait-for.js';

/** The address the init serves on, from its start-up log line (tests listen on port 0). */
export async function reportAddressOf(run: RunningInit): Promise<string> {
  const line = await waitFor(() => run.logLines().find((entry) => entry.msg === 'serving metrics, health and status'), {
    timeoutMs: 30_000,
    what: 'the init to serve metrics',
  });
  return line.listen as string;
}

/** One GET: its status and body. A new connection each time, as a probe makes. */
export function httpGet(address: string, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const url = new URL(`http://${address}${path}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname, timeout: timeoutMs, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address}${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Checks text with Prometheus's own linter (`promtool check metrics`, Debian's prometheus
 * package): the exposition format, and the naming rules (counters end in _total, units).
 */
export function promtoolCheck(text: string): { ok: boolean; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error && process.env.METAMCP_INIT_SKIP_PROMTOOL === '1') {
    // Asked for: the exposition is still parsed, the naming rules go unchecked, and it is said.
    console.warn('SKIPPED: promtool check metrics (METAMCP_INIT_SKIP_PROMTOOL=1); the text was only parsed');
    parsePrometheusTextFormat(text);
    return { ok: true, output: '' };
  }
  if (result.error)
    throw new Error(
      `promtool is needed to check the metrics (apt-get install prometheus, or METAMCP_INIT_SKIP_PROMTOOL=1 to skip its checks): ${result.error.message}`,
    );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** The value of one sample, by name and labels; undefined when absent. */
export function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([label, value]) => m.labels?.[label] === value));
  return sample === undefined ? undefined : Number(sample.value);
}

/** Every sample of a family. */
export function samplesOf(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  return (family?.metrics ?? []).map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }));
}
