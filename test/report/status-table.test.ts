import { describe, expect, it } from 'vitest';
import { bytes, duration, formatStatus } from '../../src/report/status-table.js';
import { pidsLimit, reportOf, T0, view } from '../helpers/reports.js';

describe('formatStatus', () => {
  it('groups instances by key with count against the cap, states, longest idle, tasks, RSS and age', () => {
    const text = formatStatus(
      reportOf((_, guard) => {
        guard.instances = [
          view('npm exec a', { idleMs: 125_000, ageMs: 600_000 }),
          view('npm exec a', { starting: true, idle: false, idleMs: 0, ageMs: 3_000 }),
          view('npm exec b', { busy: true, idle: false, idleMs: 200 }),
        ];
      }),
    );
    const rows = text.split('\n');
    const header = rows.findIndex((row) => row.startsWith('KEY'));
    expect(rows[header]).toMatch(/KEY\s+COUNT\/CAP\s+STARTING\s+BUSY\s+IDLE\s+ORPHANED\s+LONGEST IDLE\s+TASKS\s+RSS\s+OLDEST/);
    expect(rows[header + 1]).toMatch(/^npm exec a\s+2\/8\s+1\s+0\s+1\s+0\s+2m05s\s+46\s+200\.0 MiB\s+10m00s$/);
    expect(rows[header + 2]).toMatch(/^npm exec b\s+1\/8\s+0\s+1\s+0\s+0\s+200ms\s+23\s+100\.0 MiB\s+1m00s$/);
  });

  it('shows the limits with the marks the guard acts at, and the health', () => {
    const text = formatStatus({
      ...reportOf((_, guard) => (guard.limits = pidsLimit(150, 200))),
      cgroup: { pids: { currentTasks: 150, maxTasks: 200, dir: '/x' } },
    });
    expect(text).toContain('pids:       150 of 200 (the guard acts from 160, stops anything from 180)');
    expect(text).toContain('health:     ok:');
  });

  it('lists the last stops, newest first, with their reasons', () => {
    const text = formatStatus(
      reportOf((_, guard) => {
        guard.stops.set('orphan', 1).set('duplicate', 1);
        guard.recentStops = [
          { atMs: T0 + 10_000, reason: 'orphan', key: 'npm exec a', launcherPid: 41, why: 'its launcher died', dryRun: false },
          { atMs: T0 + 50_000, reason: 'duplicate', key: 'npm exec b', launcherPid: 42, why: 'over the cap', dryRun: true },
        ];
      }),
    );
    const stops = text.slice(text.indexOf('Stops:'));
    expect(stops).toMatch(
      /^Stops: orphan 1, duplicate 1\n {2}10\.0s ago {2}would stop npm exec b \(pid 42\), duplicate: over the cap\n {2}50\.0s ago {2}stopped npm exec a \(pid 41\), orphan: its launcher died\n$/,
    );
  });

  it('says why the guard is off', () => {
    const text = formatStatus(reportOf((_, guard) => Object.assign(guard, { mode: 'off', offReason: 'turned off (--guard-off)' })));
    expect(text).toMatch(/guard: {6}off \(turned off \(--guard-off\)\)\n$/);
  });
});

describe('duration and bytes', () => {
  it.each([
    [850, '850ms'],
    [12_340, '12.3s'],
    [245_000, '4m05s'],
    [7_380_000, '2h03m'],
    [273_600_000, '3d04h'],
  ])('duration(%d) is %s', (ms, text) => expect(duration(ms)).toBe(text));

  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [48.1 * 2 ** 20, '48.1 MiB'],
  ])('bytes(%d) is %s', (value, text) => expect(bytes(value)).toBe(text));
});
