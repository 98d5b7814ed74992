/** One sample of a metric: its labels and its value. */
export type Sample = { labels?: Readonly<Record<string, string>>; value: number };

/** A metric family: every sample of one name, with its help and type. */
export type MetricFamily = { name: string; help: string; type: 'counter' | 'gauge'; samples: readonly Sample[] };

/**
 * Writes metric families in the Prometheus text exposition format (version 0.0.4). A
 * family without samples is left out: a HELP line with no sample is noise to a scraper.
 * Written by hand: the format is a few lines of escaping, and prom-client costs the init
 * about 9 MB of RSS and 60 ms of start-up for it (docs/facts.md).
 */
export function writePrometheusText(families: readonly MetricFamily[]): string {
  let text = '';
  for (const family of families) {
    if (family.samples.length === 0) continue;
    text += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) text += `${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}\n`;
  }
  return text;
}

function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return '';
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
