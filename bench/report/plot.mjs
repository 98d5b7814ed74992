// The report's pictures: vega-lite specs compiled by vega-lite and rendered to SVG by vega,
// headless (no browser, no canvas).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';

/**
 * Text widths for the layout. Without a canvas vega guesses 0.8 em a character, which makes the
 * picture far wider than its text; 0.6 em (0.66 bold) is DejaVu Sans's, the widest of the fonts
 * named, so that the text still fits where a viewer has only that one.
 */
vega.textMetrics.width = (item, text) => {
  const line = text == null ? '' : String(text).trim();
  const size = item.fontSize != null ? Number(item.fontSize) : 11;
  return line.length * size * (String(item.fontWeight ?? '') === 'bold' ? 0.66 : 0.6);
};

const CONFIG = {
  view: { stroke: null },
  font: 'DejaVu Sans, Verdana, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11.5, titleFontSize: 12 },
  header: { labelFontSize: 13, labelFontWeight: 'bold', labelAnchor: 'start', labelPadding: 6 },
  title: { anchor: 'start', fontSize: 15, subtitleFontSize: 11.5, subtitleColor: '#555' },
};

export const COLORS = {
  'metamcp-init': '#1f6fb4',
  'seed loop, every 30 s': '#e08a1e',
  'seed loop, every 1 s': '#8c5bb5',
  'no guard': '#d6452d',
};

const escapeXml = (text) => text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/** Renders a vega-lite spec to an SVG file: a static image, with `title` (what it shows, in a sentence) for screen readers. */
export async function writeSvg(spec, file, title) {
  const view = new vega.View(vega.parse(vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec }).spec), { renderer: 'none' });
  const svg = (await view.toSVG()).replace(/ (role|aria-roledescription)="[^"]*"/g, '').replace(/^(<svg[^>]*>)/, `$1<title>${escapeXml(title)}</title>`);
  view.finalize();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${svg}\n`);
}

/** pids.current over time: one small panel per contender (rows) and launch rate (columns), with pids.max and the init's high mark. */
export function stormSpec(points, { pidsMax, highMark, contenders, seconds }) {
  const rates = [...new Set(points.map((p) => p.rate))];
  const maxT = Math.ceil(Math.max(...points.map((p) => p.t)));
  const rules = [{ y: pidsMax, dash: 'solid' }, ...(highMark ? [{ y: highMark, dash: 'dashed' }] : [])];
  return {
    title: {
      text: 'pids.current during a leak storm, by contender',
      subtitle: [
        `The MetaMCP-like simulator opens sessions at the rate shown for ${seconds} s (shaded) and never closes them; each launches an npx tree of 23 tasks,`,
        'and its pool retries failed connections every 5 s. The seed loop is ps | grep | kill -9 beside the app, under tini. Sampled every 100 ms.',
        `Grey lines: pids.max ${pidsMax} (solid)${highMark ? ` and metamcp-init's high mark ${highMark}, where it starts to stop instances (dashed)` : ''}.`,
      ],
    },
    data: { values: points },
    facet: {
      row: { field: 'contender', type: 'nominal', sort: contenders, title: null, header: { labelAngle: 0, labelAlign: 'left', labelOrient: 'top' } },
      column: { field: 'rate', type: 'nominal', sort: rates, title: null },
    },
    spec: {
      width: 400,
      height: 105,
      layer: [
        {
          data: { values: [{ from: 0, to: seconds }] },
          mark: { type: 'rect', color: '#f0f0f0' },
          encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
        },
        {
          mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after', clip: true },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'seconds since the first launch', scale: { domain: [0, maxT], nice: false } },
            y: { field: 'pids', type: 'quantitative', title: 'pids.current', scale: { domain: [0, pidsMax + 10] }, axis: { values: [0, 100, pidsMax] } },
            color: { field: 'contender', type: 'nominal', scale: { domain: contenders, range: contenders.map((c) => COLORS[c] ?? '#555') }, legend: null },
          },
        },
        {
          data: { values: rules },
          mark: { type: 'rule', color: '#777', strokeWidth: 0.8, opacity: 0.7 },
          encoding: {
            y: { field: 'y', type: 'quantitative' },
            strokeDash: {
              field: 'dash',
              type: 'nominal',
              scale: {
                domain: ['solid', 'dashed'],
                range: [
                  [1, 0],
                  [4, 3],
                ],
              },
              legend: null,
            },
          },
        },
      ],
    },
    spacing: { row: 14, column: 24 },
    config: CONFIG,
  };
}

/** Scan cost against process count on log-log axes, and per 1000 processes against the target. */
export function scanSpec(points, { targetMsPer1000 }) {
  const counts = [...new Set(points.map((p) => p.processes))].sort((a, b) => a - b);
  const xLog = {
    field: 'processes',
    type: 'quantitative',
    title: 'processes in the pid namespace (log)',
    scale: { type: 'log', domain: [counts[0] / 1.5, counts.at(-1) * 1.5], nice: false },
    axis: { values: counts },
  };
  const kinds = ['cold (stat + cmdline of each)', 'cached (stat only)', 'system calls alone'];
  const color = {
    field: 'kind',
    type: 'nominal',
    title: null,
    scale: { domain: kinds, range: ['#d6452d', '#1f6fb4', '#888'] },
    legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 0, symbolStrokeWidth: 3 },
  };
  const target = counts.map((n) => ({ processes: n, ms: (targetMsPer1000 * n) / 1000, per1000: targetMsPer1000 }));
  const perPoint = points.map((p) => ({ ...p, per1000: (p.median * 1000) / p.processes, per1000p95: (p.p95 * 1000) / p.processes }));
  const targetLayers = (field) => [
    {
      data: { values: target },
      mark: { type: 'line', strokeDash: [5, 4], color: '#333', strokeWidth: 1.2 },
      encoding: { x: xLog, y: { field, type: 'quantitative' } },
    },
    {
      data: { values: [target.at(-1)] },
      mark: { type: 'text', align: 'right', baseline: 'top', dy: 5, fontSize: 10.5, color: '#333', text: `target: ${targetMsPer1000} ms per 1000` },
      encoding: { x: { field: 'processes', type: 'quantitative' }, y: { field, type: 'quantitative' } },
    },
  ];
  return {
    title: {
      text: 'Cost of one /proc scan against the number of processes',
      subtitle: "The init's own scanner (src/proc): medians (lines, dots) and p95 (whiskers); dashed: the target, 10 ms per 1000 processes",
    },
    data: { values: perPoint },
    hconcat: [
      {
        width: 330,
        height: 260,
        title: { text: 'ms per scan (log)', fontSize: 12, anchor: 'middle' },
        layer: [
          targetLayers('ms')[0],
          {
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: { x: xLog, y: { field: 'median', type: 'quantitative', scale: { type: 'log' }, title: 'ms' }, y2: { field: 'p95' }, color },
          },
          {
            mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2 },
            encoding: { x: xLog, y: { field: 'median', type: 'quantitative' }, color },
          },
        ],
        resolve: { scale: { y: 'shared' } },
      },
      {
        width: 330,
        height: 260,
        title: { text: 'ms per 1000 processes (flat: linear growth)', fontSize: 12, anchor: 'middle' },
        layer: [
          ...targetLayers('per1000'),
          {
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: {
              x: xLog,
              y: { field: 'per1000', type: 'quantitative', title: 'ms per 1000 processes', scale: { zero: true } },
              y2: { field: 'per1000p95' },
              color,
            },
          },
          {
            mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2 },
            encoding: { x: xLog, y: { field: 'per1000', type: 'quantitative' }, color },
          },
          {
            mark: { type: 'text', align: 'left', dx: 6, dy: -7, fontSize: 10 },
            encoding: { x: xLog, y: { field: 'per1000', type: 'quantitative' }, text: { field: 'per1000', type: 'quantitative', format: '.1f' }, color },
          },
        ],
      },
    ],
    spacing: 30,
    config: CONFIG,
  };
}
