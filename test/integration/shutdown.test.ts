import { describe, expect, it } from 'vitest';
import { isAlive, refOf } from '../helpers/procs.js';
import { FIXTURES, MODES, startInit } from '../helpers/start-init.js';

describe.each(MODES)('graceful shutdown (%s)', (mode) => {
  it('when the child exits, stops the grandchildren it left, the stubborn and the escaped, before exiting', async () => {
    const run = startInit({ mode, initArgs: ['--grace', '1s'], command: [process.execPath, `${FIXTURES}leave-grandchildren.js`], stdin: 'pipe' });
    const line = await run.waitForStdout('escaped');
    const pids = JSON.parse(line) as { stubborn: number; escaped: number };
    // In pid1 mode these are namespace pids: look them up from the init's own view of /proc.
    const init = await run.initRef();
    const refs = mode === 'subreaper' ? [refOf(pids.stubborn), refOf(pids.escaped)] : undefined;
    run.process.stdin!.end();
    const { code } = await run.exited;
    expect(code).toBe(0);
    if (refs) for (const ref of refs) expect(isAlive(ref)).toBe(false);
    expect(isAlive(init)).toBe(false);
    const summary = run.logLines().find((entry) => String(entry.msg).startsWith('main child exited'));
    expect(summary).toMatchObject({ termed: 2, killed: 1, left: 0 });
  });
});
