import { describe, expect, it } from 'vitest';
import { bytes, duration, formatStatus } from '../../src/report/status-table.js';
import { pidsLimit, reportOf, T0, view } from '../helpers/reports.js';

describe('formatStatus', () => {
  it('groups instances by key: count against the cap, states, longest idle, tasks, RSS, age, and the key last', () => {
    const text = formatStatus(
      reportOf((_, guard) => {
        guard.instances = [
          view('npm exec a', { idleMs: 125_000, ageMs: 600_000 }),
          view('npm exec a', { starting: true, idle: false, idleMs: 0, ageMs: 3_000 }),
          view('npm exec a', { stopping: true, idleMs: 900_000, ageMs: 900_000 }),
          view('npm exec b', { busy: true, idle: false, idleMs: 200 }),
        ];
      }),
    );
    const rows = text.split('\n');
    const header = rows.findIndex((row) => row.startsWith('N/CAP'));
    expect(rows[header]).toMatch(/^N\/CAP\s+STATES\s+IDLE FOR\s+TASKS\s+RSS\s+AGE\s+KEY$/);
    // A stopping instance's idle time is not the key's: it is on its way out.
    expect(rows[header + 1]).toMatch(/^3\/8\s+1 stopping, 1 starting, 1 idle\s+2m05s\s+69\s+300\.0 MiB\s+15m00s\s+npm exec a$/);
    expect(rows[header + 2]).toMatch(/^1\/8\s+1 busy\s+200ms\s+23\s+100\.0 MiB\s+1m00s\s+npm exec b$/);
    expect(Math.max(...rows.map((row) => row.length))).toBeLessThanOrEqual(100);
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
        guard.stops.set('orphan', 1).set('duplicate', 1).set('pids-headroom', 1);
        guard.stopEnds.set('terminate', 1);
        guard.recentStops = [
          {
            atMs: T0 + 10_000,
            reason: 'orphan',
            key: 'npm exec a',
            launcherPid: 41,
            why: 'its launcher died',
            dryRun: false,
            method: 'terminate',
            endedBy: 'terminate',
          },
          { atMs: T0 + 30_000, reason: 'pids-headroom', key: 'npm exec c', launcherPid: 43, why: 'nearing the limit', dryRun: false, method: 'interrupt' },
          { atMs: T0 + 50_000, reason: 'duplicate', key: 'npm exec b', launcherPid: 42, why: 'over the cap', dryRun: true, method: 'interrupt' },
        ];
        guard.learnt = [{ key: 'npm exec c', interrupt: 'clean' }];
      }),
    );
    const stops = text.slice(text.indexOf('Stops:'));
    expect(stops).toBe(
      'Stops: orphan 1, duplicate 1, pids-headroom 1\n' +
        '  ended: on TERM 1\n' +
        '  10.0s ago: would stop pid 42 (duplicate), npm exec b\n    over the cap\n' +
        '  30.0s ago: stopped pid 43 (pids-headroom, SIGINT sent), npm exec c\n    nearing the limit\n' +
        '  50.0s ago: stopped pid 41 (orphan, on TERM), npm exec a\n    its launcher died\n' +
        '\nLearnt from stops:\n  SIGINT ends its servers cleanly: npm exec c\n',
    );
  });

  it('says how many starting instances were held back, when any was', () => {
    expect(formatStatus(reportOf())).not.toContain('Held back');
    const text = formatStatus(reportOf((_, guard) => Object.assign(guard, { holds: 7, heldNow: 2 })));
    expect(text).toContain('Held back while starting (SIGSTOP): 7 in all, 2 now');
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

  it('prints 50,000 instances of one key as one row, in time linear in them', () => {
    const views = Array.from({ length: 50_000 }, (_, n) => view('npm exec @acme/mcp-server-x', { launcherPid: 1000 + n, idleMs: n }));
    const text = formatStatus(
      reportOf((_init, guard) => {
        guard.instances = views;
      }),
    );
    expect(text).toMatch(/50000\/8 .*npm exec @acme\/mcp-server-x/);
  });
});
