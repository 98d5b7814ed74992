import { describe, expect, it } from 'vitest';
import { caughtSignals, FORWARDED_SIGNALS, rewriteSignal, runtimeSignals, signalNamed } from '../../src/init/signals.js';

describe('runtimeSignals', () => {
  it('is empty for a plain node', () => {
    expect([...runtimeSignals([], '')]).toEqual([]);
  });

  it("takes the heap snapshot's signal and, with --report-on-signal, the report's (USR2 unless told)", () => {
    expect([...runtimeSignals(['--heapsnapshot-signal=SIGUSR2'])]).toEqual(['SIGUSR2']);
    expect([...runtimeSignals([], '--report-on-signal')]).toEqual(['SIGUSR2']);
    expect([...runtimeSignals(['--report-on-signal', '--report-signal', 'SIGHUP'])]).toEqual(['SIGHUP']);
  });
});

describe('caughtSignals', () => {
  it('never takes PROF, which V8 sends to the init itself when it profiles', () => {
    expect(FORWARDED_SIGNALS).not.toContain('SIGPROF');
    expect(caughtSignals([], '')).toEqual(FORWARDED_SIGNALS);
  });

  it('leaves out what the runtime was asked to take', () => {
    expect(caughtSignals(['--heapsnapshot-signal=SIGUSR2'], '')).not.toContain('SIGUSR2');
  });
});

describe('signalNamed', () => {
  it('knows names and numbers, and nothing else', () => {
    expect(signalNamed('hup')).toBe('SIGHUP');
    expect(signalNamed('15')).toBe('SIGTERM');
    expect(signalNamed('SIGNOPE')).toBeUndefined();
  });
});

describe('rewriteSignal', () => {
  it('forwards a signal as its rewrite, drops one rewritten to 0, and the last rewrite of a signal wins', () => {
    const rewrites = [
      { from: 'SIGTERM', to: 'SIGINT' },
      { from: 'SIGUSR1', to: null },
      { from: 'SIGTERM', to: 'SIGQUIT' },
    ] as const;
    expect(rewriteSignal('SIGTERM', rewrites)).toBe('SIGQUIT');
    expect(rewriteSignal('SIGUSR1', rewrites)).toBeNull();
    expect(rewriteSignal('SIGHUP', rewrites)).toBe('SIGHUP');
  });
});
