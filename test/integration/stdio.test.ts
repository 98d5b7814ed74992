import { describe, expect, it } from 'vitest';
import { FIXTURES, MODES, startInit } from '../helpers/start-init.js';

describe.each(MODES)('stdio (%s)', (mode) => {
  it('passes 1 MiB of binary stdout through byte for byte', async () => {
    const size = 1 << 20;
    const run = startInit({ mode, command: [process.execPath, `${FIXTURES}write-bytes.js`, String(size)] });
    expect((await run.exited).code).toBe(0);
    const expected = Buffer.alloc(size);
    for (let i = 0; i < size; i += 1) expected[i] = (i * 131 + (i >> 8)) & 0xff;
    expect(run.stdout().equals(expected)).toBe(true);
  });

  it('passes stdin to the child', async () => {
    const run = startInit({ mode, command: ['cat'], stdin: 'pipe' });
    run.process.stdin!.end('hello from stdin\n');
    expect((await run.exited).code).toBe(0);
    expect(run.stdout().toString()).toBe('hello from stdin\n');
  });

  it('passes argv with spaces, quotes and unicode unchanged', async () => {
    const args = ['two words', `"double" and 'single'`, 'ünïcødé ✓ 日本', '', '--not-an-option', '$HOME'];
    const run = startInit({ mode, command: [process.execPath, `${FIXTURES}print-argv.js`, ...args] });
    expect((await run.exited).code).toBe(0);
    expect(JSON.parse(run.stdout().toString())).toEqual(args);
  });

  it('writes nothing to stdout itself, even at debug level', async () => {
    const run = startInit({ mode, initArgs: ['--log-level', 'trace'], command: ['sh', '-c', 'exit 0'] });
    expect((await run.exited).code).toBe(0);
    expect(run.stdout().length).toBe(0);
    expect(run.logLines().length).toBeGreaterThan(0);
  });
});
