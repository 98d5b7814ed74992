import { describe, expect, it } from 'vitest';
import { describeStop } from '../../src/guard/describe-stop.js';
import type { Stop, StopEvidence } from '../../src/guard/stops.js';
import { makeInstance, makeNpmTree, pidsAt } from '../helpers/snapshots.js';

const EVIDENCE: StopEvidence = {
  ageMs: 65_432.6,
  idleMs: 61_049.9,
  starting: false,
  busy: false,
  idle: true,
  instancesOfKey: 3,
  busyOfKey: 1,
  startingOfKey: 1,
  cost: 'clean',
};

function stopOf(reason: Stop['reason'], evidence: Partial<StopEvidence> = {}, instance = makeInstance(makeNpmTree(100))): Stop {
  return { instance, reason, method: 'interrupt', terminateIfIgnored: true, evidence: { ...EVIDENCE, ...evidence } };
}

const whyOf = (stop: Stop) => describeStop(stop, {}, 4096, false).why;

describe('describeStop', () => {
  it('names the instance, its figures, its siblings and the cgroup', () => {
    const described = describeStop(stopOf('duplicate'), pidsAt(120, 200), 4096, false);
    expect(described).toEqual({
      reason: 'duplicate',
      key: 'npm exec @modelcontextprotocol/server-everything',
      launcherPid: 100,
      launcherAlive: true,
      orphaned: false,
      pids: [100, 101, 102],
      tasks: 23,
      rssBytes: 3 * 256 * 4096,
      ageMs: 65_433,
      idleMs: 61_050,
      starting: false,
      busy: false,
      instancesOfKey: 3,
      busyOfKey: 1,
      startingOfKey: 1,
      method: 'interrupt',
      cost: 'clean',
      why: 'over the cap and idle 61.0 s; no instance of its key was busy or starting, and its stop is an exit 0',
      cgroup: { pidsCurrent: 120, pidsMax: 200, memoryWorkingSetBytes: undefined, memoryLimitBytes: undefined },
    });
  });

  it('gives the pressure of a headroom stop', () => {
    expect(describeStop(stopOf('pids-headroom', { pressure: 'urgent' }), {}, 4096, false).pressure).toBe('urgent');
  });

  it("says what the stop means to MetaMCP when the app is MetaMCP and the instance was the app's to use", () => {
    expect(describeStop(stopOf('duplicate'), {}, 4096, true).app).toMatch(/exit 0.*no crash/);
    expect(describeStop(stopOf('pids-headroom', { cost: 'crash', pressure: 'urgent' }), {}, 4096, true).app).toMatch(/exit 0 is no crash.*MCP_MAX_ATTEMPTS/);
    const terminate: Stop = { ...stopOf('pids-headroom', { cost: 'crash', pressure: 'critical' }), method: 'terminate' };
    expect(describeStop(terminate, {}, 4096, true).app).toMatch(/^MetaMCP counts this exit as a crash/);
    expect(describeStop(stopOf('duplicate'), {}, 4096, false)).not.toHaveProperty('app');
  });

  it('says nothing of MetaMCP for an orphan, which it no longer holds', () => {
    const orphan = makeInstance(makeNpmTree(100), { orphaned: true });
    expect(describeStop(stopOf('orphan', {}, orphan), {}, 4096, true)).not.toHaveProperty('app');
  });

  it('explains an orphan by what happened to its launcher', () => {
    expect(whyOf(stopOf('orphan', {}, makeInstance(makeNpmTree(100), { orphaned: true })))).toBe('its launcher lost its parent in the app');
    expect(whyOf(stopOf('orphan', {}, makeInstance(makeNpmTree(100), { orphaned: true, launcherAlive: false })))).toBe(
      'its launcher died; nothing in the app can talk to it',
    );
  });

  it('explains a stop over the total cap as one over the per-command cap', () => {
    expect(whyOf(stopOf('max-instances'))).toBe(whyOf(stopOf('duplicate')));
  });

  it('explains a headroom stop of an orphan', () => {
    expect(whyOf(stopOf('memory-headroom', { pressure: 'high' }, makeInstance(makeNpmTree(100), { orphaned: true })))).toBe(
      'nearing the limit: an orphan, which nobody can use',
    );
  });

  it('explains a headroom stop of a starting tree', () => {
    expect(whyOf(stopOf('pids-headroom', { pressure: 'urgent', starting: true, idle: false }))).toMatch(/^the trees still starting would/);
  });

  it('explains a headroom stop at the critical mark, busy or idle', () => {
    expect(whyOf(stopOf('pids-headroom', { pressure: 'critical', busy: true, idle: false }))).toBe('the limit is near: busy, but nothing idle was left');
    expect(whyOf(stopOf('pids-headroom', { pressure: 'critical' }))).toBe('the limit is near: idle 61.0 s, the longest');
  });

  it('explains a headroom stop at the high mark by what it costs', () => {
    expect(whyOf(stopOf('pids-headroom', { pressure: 'high' }))).toBe('nearing the limit: idle 61.0 s, the longest, and its stop is an exit 0');
    expect(whyOf(stopOf('pids-headroom', { pressure: 'high', cost: 'crash' }))).toMatch(/the app tolerates crashes/);
  });

  it('explains a stop forced by the projection', () => {
    expect(whyOf(stopOf('pids-headroom', { pressure: 'urgent', cost: 'crash' }))).toBe(
      'the projection reaches the limit: idle 61.0 s, the longest, and a crash costs less than the kernel refusing forks',
    );
  });
});
