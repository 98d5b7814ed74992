import { describe, expect, it } from 'vitest';
import { MAX_KEY_LABELS, metricsOf, OTHER_KEYS } from '../../src/report/metrics.js';
import { writePrometheusText } from '../../src/report/prometheus-text.js';
import { promtoolCheck, sampleOf, samplesOf } from '../helpers/report-client.js';
import { pidsLimit, reportOf, view } from '../helpers/reports.js';

describe('metricsOf', () => {
  it('passes promtool, names and all', () => {
    const report = reportOf((init, guard) => {
      init.signalsForwarded.set('SIGTERM', 1);
      init.zombiesReaped = 12;
      guard.instances = [view('npm exec a'), view('npm exec b', { starting: true, idle: false })];
      guard.stops.set('duplicate', 2);
      guard.limits = pidsLimit(150, 200);
    });
    const check = promtoolCheck(writePrometheusText(metricsOf({ ...report, cgroup: { pids: { currentTasks: 150, maxTasks: 200, dir: '/x' } } })));
    expect(check).toEqual({ ok: true, output: '' });
  });

  it('counts instances by key and state, one state each', () => {
    const text = writePrometheusText(
      metricsOf(
        reportOf((_, guard) => {
          guard.instances = [
            view('k', { starting: true, idle: false }),
            view('k', { busy: true, idle: false }),
            view('k', { idle: false }),
            view('k'),
            view('k', { orphaned: true }),
            view('k', { orphaned: true, starting: true }),
            view('k', { stopping: true, orphaned: true }),
          ];
        }),
      ),
    );
    expect(Object.fromEntries(samplesOf(text, 'metamcp_init_instances').map((s) => [s.labels.state, s.value]))).toEqual({
      stopping: 1,
      orphaned: 2,
      starting: 1,
      busy: 1,
      settled: 1,
      idle: 1,
    });
    expect(sampleOf(text, 'metamcp_init_instance_tasks', { key: 'k' })).toBe(7 * 23);
  });

  it(`gives at most ${MAX_KEY_LABELS} keys a label of their own, the most instances first, and sums the rest`, () => {
    const text = writePrometheusText(
      metricsOf(
        reportOf((_, guard) => {
          guard.instances = Array.from({ length: 30 }, (_, i) => Array.from({ length: i < 5 ? 3 : 1 }, () => view(`key ${String(i).padStart(2, '0')}`))).flat();
        }),
      ),
    );
    const keys = new Set(samplesOf(text, 'metamcp_init_instance_tasks').map((s) => s.labels.key));
    expect(keys.size).toBe(MAX_KEY_LABELS + 1);
    for (let i = 0; i < 5; i += 1) expect(keys).toContain(`key 0${i}`);
    // 30 keys: 20 labelled, 10 of one instance each folded together.
    expect(sampleOf(text, 'metamcp_init_instance_tasks', { key: OTHER_KEYS })).toBe(10 * 23);
  });

  it('cuts a long key in its label', () => {
    const text = writePrometheusText(metricsOf(reportOf((_, guard) => (guard.instances = [view(`npm exec ${'x'.repeat(5000)}`)]))));
    const [sample] = samplesOf(text, 'metamcp_init_instance_tasks');
    expect(sample?.labels.key?.length).toBeLessThanOrEqual(160);
  });

  it('leaves out what is unknown rather than writing a zero: no limit, no scan yet', () => {
    const text = writePrometheusText(metricsOf(reportOf((_, guard) => delete guard.lastScanAtMs)));
    expect(sampleOf(text, 'metamcp_init_cgroup_pids_max')).toBeUndefined();
    expect(sampleOf(text, 'metamcp_init_guard_seconds_since_last_scan')).toBeUndefined();
    expect(sampleOf(text, 'metamcp_init_stops_total', { reason: 'orphan' })).toBe(0);
  });

  it('says the time since the last scan and the health', () => {
    const text = writePrometheusText(metricsOf(reportOf()));
    expect(sampleOf(text, 'metamcp_init_guard_seconds_since_last_scan')).toBe(1);
    expect(sampleOf(text, 'metamcp_init_healthy')).toBe(1);
    expect(sampleOf(text, 'metamcp_init_tasks')).toBe(5);
  });
});
