import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MODES, startInit } from '../helpers/start-init.js';

describe.each(MODES)('exit status (%s)', (mode) => {
  it.each([0, 3, 42, 255])('exits %i when the child exits %i', async (code) => {
    const run = startInit({ mode, command: ['sh', '-c', `exit ${code}`] });
    expect((await run.exited).code).toBe(code);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGKILL', 137],
    ['SIGSEGV', 139],
    ['SIGTERM', 143],
    ['SIGUSR1', 138],
  ])('exits 128+N when the child dies of %s', async (signal, status) => {
    const run = startInit({ mode, command: ['sh', '-c', `kill -${signal.slice(3)} $$`] });
    expect((await run.exited).code).toBe(status);
  });

  it('exits 127 and names the command when it is not found', async () => {
    const run = startInit({ mode, command: ['no-such-command-xyz', 'arg'] });
    expect((await run.exited).code).toBe(127);
    const errors = run
      .stderr()
      .split('\n')
      .filter((line) => line.includes('no-such-command-xyz'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('not found');
  });

  it('exits 126 and names the file when it is not executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metamcp-init-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const run = startInit({ mode, command: [file] });
    expect((await run.exited).code).toBe(126);
    expect(run.stderr()).toContain(file);
  });

  it('exits 2 with a message naming the option for a bad value', async () => {
    const run = startInit({ mode, initArgs: ['--grace', 'soon'], command: ['true'] });
    expect((await run.exited).code).toBe(2);
    expect(run.stderr()).toContain('--grace');
  });
});
