import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { writePrometheusText } from '../../src/report/prometheus-text.js';
import { promtoolCheck } from '../helpers/report-client.js';

describe('writePrometheusText', () => {
  it('writes HELP, TYPE and one line per sample', () => {
    const text = writePrometheusText([{ name: 'x_total', help: 'Xs.', type: 'counter', samples: [{ labels: { a: '1' }, value: 3 }, { value: 4 }] }]);
    expect(text).toBe('# HELP x_total Xs.\n# TYPE x_total counter\nx_total{a="1"} 3\nx_total 4\n');
  });

  it('leaves out a family without samples', () => {
    expect(writePrometheusText([{ name: 'x', help: 'X.', type: 'gauge', samples: [] }])).toBe('');
  });

  it('escapes label values and help so that a hostile command line cannot break the format', () => {
    const key = 'npm exec "a"\\b\nc} 1\nfake_metric 2';
    const text = writePrometheusText([{ name: 'x', help: 'line\\one\ntwo', type: 'gauge', samples: [{ labels: { key }, value: 1 }] }]);
    expect(promtoolCheck(text)).toMatchObject({ ok: true });
    const [family] = parsePrometheusTextFormat(text);
    expect(family?.metrics).toEqual([{ value: '1', labels: { key } }]);
    expect(text).not.toMatch(/^fake_metric/m);
  });

  it('writes infinities and NaN as the format spells them', () => {
    const text = writePrometheusText([
      {
        name: 'x',
        help: 'X.',
        type: 'gauge',
        samples: [
          { labels: { v: 'a' }, value: Infinity },
          { labels: { v: 'b' }, value: -Infinity },
          { labels: { v: 'c' }, value: Number.NaN },
        ],
      },
    ]);
    expect(text).toContain('x{v="a"} +Inf\nx{v="b"} -Inf\nx{v="c"} NaN\n');
    expect(promtoolCheck(text).ok).toBe(true);
  });
});
