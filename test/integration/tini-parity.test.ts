// What operators bring from tini and dumb-init: -e, --rewrite, and profiling the init.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, MODES, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

const PRINT_SIGNALS = `${FIXTURES}print-signals.js`;

describe.each(MODES)("tini's and dumb-init's habits (%s)", (mode) => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('-e 143: a child that exits 143 on TERM, or dies of it, gives exit 0; other statuses stay', async () => {
    const exits143 = `process.on('SIGTERM', () => process.exit(143)); console.log('ready'); setInterval(() => {}, 1 << 30);`;
    const remapped = startInit({ mode, initArgs: ['-e', '143'], command: [process.execPath, '-e', exits143] });
    await remapped.waitForStdout('ready');
    await remapped.signal('SIGTERM');
    expect((await remapped.exited).code).toBe(0);
    expect(remapped.logLines().some((line) => line.childExitCode === 143 && String(line.msg).includes('remapping'))).toBe(true);

    const diesOfTerm = startInit({
      mode,
      initArgs: ['--remap-exit', '143'],
      command: [process.execPath, '-e', `console.log('ready'); setInterval(() => {}, 1 << 30);`],
    });
    await diesOfTerm.waitForStdout('ready');
    await diesOfTerm.signal('SIGTERM');
    expect((await diesOfTerm.exited).code).toBe(0);

    const other = startInit({ mode, initArgs: ['-e', '143'], command: ['sh', '-c', 'exit 3'] });
    expect((await other.exited).code).toBe(3);
  });

  it('--rewrite TERM:QUIT: the child gets QUIT for the TERM of docker stop, and the init still shuts down', async () => {
    const run = startInit({ mode, initArgs: ['--rewrite', 'TERM:QUIT', '--grace', '30s'], command: [process.execPath, PRINT_SIGNALS, '--exit-on', 'SIGQUIT'] });
    await run.waitForStdout('ready');
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    expect(run.stdout().toString()).toContain('SIGQUIT\n');
    expect(run.stdout().toString()).not.toContain('SIGTERM');
    expect(run.logLines().some((line) => line.msg === 'shutting down: grace period started' && line.signal === 'SIGTERM')).toBe(true);
  });

  it('--rewrite USR1:0 drops USR1: not forwarded, and no shutdown', async () => {
    const run = startInit({ mode, initArgs: ['--rewrite', 'USR1:0'], command: [process.execPath, PRINT_SIGNALS, '--exit-on', 'SIGTERM'] });
    await run.waitForStdout('ready');
    await run.signal('SIGUSR1');
    // HUP after USR1: once HUP is there, USR1 would have been too.
    await run.signal('SIGHUP');
    await run.waitForStdout('SIGHUP\n');
    expect(run.stdout().toString()).not.toContain('SIGUSR1');
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it("node --cpu-prof on the init: the child never sees the profiler's SIGPROF, and the profile is written", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metamcp-init-prof-'));
    dirs.push(dir);
    const run = startInit({
      mode,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '500'],
      command: [process.execPath, PRINT_SIGNALS, '--exit-on', 'SIGTERM'],
    });
    await run.waitForStdout('ready');
    // The sampler has been signalling the init every 0.5 ms since it started; a signal that
    // comes after ready proves the child is alive and still hears the init.
    await run.signal('SIGUSR2');
    await run.waitForStdout('SIGUSR2\n');
    expect(run.stdout().toString()).not.toContain('SIGPROF');
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const profile = await waitFor(() => readdirSync(dir).find((name) => name.endsWith('.cpuprofile')), { what: 'the .cpuprofile' });
    const parsed = JSON.parse(readFileSync(join(dir, profile), 'utf8')) as { nodes: unknown[]; samples: unknown[] };
    expect(parsed.samples.length).toBeGreaterThan(0);
  });
});
