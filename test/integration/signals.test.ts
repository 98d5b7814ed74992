import { describe, expect, it } from 'vitest';
import { FORWARDED_SIGNALS } from '../../src/init/signals.js';
import { FIXTURES, MODES, startInit } from '../helpers/start-init.js';
import { waitFor } from '../helpers/wait-for.js';

describe.each(MODES)('signal forwarding (%s)', (mode) => {
  it('forwards every catchable signal but CHLD to the child', async () => {
    const run = startInit({ mode, command: [process.execPath, `${FIXTURES}print-signals.js`, '--exit-on', 'SIGTERM'] });
    await run.waitForStdout('ready');
    // TERM last: it starts the shutdown, and the child exits on it. INT has its own test.
    const order = [...FORWARDED_SIGNALS.filter((s) => s !== 'SIGTERM' && s !== 'SIGINT'), 'SIGTERM' as const];
    for (const signal of order) {
      await run.signal(signal);
      await run.waitForStdout(`${signal}\n`);
    }
    expect((await run.exited).code).toBe(0);
  });

  it('forwards INT, as a shutdown signal', async () => {
    const run = startInit({ mode, command: [process.execPath, `${FIXTURES}print-signals.js`, '--exit-on', 'SIGINT'] });
    await run.waitForStdout('ready');
    await run.signal('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(run.stdout().toString()).toContain('SIGINT\n');
    expect(run.logLines().some((line) => line.msg === 'shutting down: grace period started' && line.signal === 'SIGINT')).toBe(true);
  });

  it("with --group, reaches a grandchild in the child's process group", async () => {
    const run = startInit({ mode, initArgs: ['--group'], command: ['sh', '-c', shellAround('USR2 HUP')] });
    await run.waitForStdout('ready');
    await run.signal('SIGUSR2');
    await run.waitForStdout('sh-got-USR2');
    await run.waitForStdout('SIGUSR2\n');
    await run.signal('SIGHUP');
    await run.waitForStdout('sh-got-HUP');
    await run.waitForStdout('SIGHUP\n');
  });

  it('without --group, the grandchild does not get the signal', async () => {
    const run = startInit({ mode, command: ['sh', '-c', shellAround('USR2')] });
    await run.waitForStdout('ready');
    await run.signal('SIGUSR2');
    await run.waitForStdout('sh-got-USR2');
    expect(run.stdout().toString()).not.toContain('SIGUSR2');
  });

  it('on TERM, forwards it, waits --grace, then kills a child that ignores it', async () => {
    const run = startInit({ mode, initArgs: ['--grace', '1s'], command: [process.execPath, `${FIXTURES}ignore-term.js`] });
    await run.waitForStdout('ready');
    const sentAt = Date.now();
    await run.signal('SIGTERM');
    const { code } = await run.exited;
    const tookMs = Date.now() - sentAt;
    expect(code).toBe(137);
    expect(tookMs).toBeGreaterThanOrEqual(900);
    const log = run.logLines();
    expect(log.some((line) => String(line.msg).includes('grace period over'))).toBe(true);
  });

  it("exits with the child's status when it exits on TERM", async () => {
    const run = startInit({ mode, command: [process.execPath, `${FIXTURES}print-signals.js`, '--exit-on', 'SIGTERM'] });
    await run.waitForStdout('ready');
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it('a second TERM during the grace kills at once', async () => {
    const run = startInit({ mode, initArgs: ['--grace', '60s'], command: [process.execPath, `${FIXTURES}ignore-term.js`] });
    await run.waitForStdout('ready');
    await run.signal('SIGTERM');
    await waitFor(() => run.logLines().some((line) => String(line.msg).includes('grace period started')), { what: 'the grace to start' });
    await run.signal('SIGTERM');
    expect((await run.exited).code).toBe(137);
  });
});

/** A shell that traps `signals` (echoing sh-got-SIG) around print-signals.js, and waits for it. */
function shellAround(signals: string): string {
  const traps = signals
    .split(' ')
    .map((sig) => `trap 'echo sh-got-${sig}' ${sig};`)
    .join(' ');
  return `${traps} ${process.execPath} ${FIXTURES}print-signals.js & while kill -0 $! 2>/dev/null; do wait $!; done`;
}
