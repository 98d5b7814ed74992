import { describe, expect, it } from 'vitest';
import { exitCodeForSpawnError, exitCodeOf, remapExitCode } from '../../src/init/exit-code.js';

describe('exitCodeOf', () => {
  it("returns the child's code", () => {
    expect(exitCodeOf({ code: 42, signal: null })).toBe(42);
  });

  it('returns 128+N for death by signal N', () => {
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeOf({ code: null, signal: 'SIGTERM' })).toBe(143);
  });
});

describe('exitCodeForSpawnError', () => {
  it('is 127 for a command that is not found', () => {
    expect(exitCodeForSpawnError('ENOENT')).toBe(127);
  });

  it('is 126 for a command that cannot run', () => {
    expect(exitCodeForSpawnError('EACCES')).toBe(126);
    expect(exitCodeForSpawnError('ENOEXEC')).toBe(126);
  });
});

describe('remapExitCode', () => {
  it('turns a listed status into 0 and leaves the others', () => {
    expect(remapExitCode(143, [143])).toBe(0);
    expect(remapExitCode(1, [143])).toBe(1);
    expect(remapExitCode(143, [])).toBe(143);
  });
});
