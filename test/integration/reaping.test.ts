import { describe, expect, it } from 'vitest';
import { FIXTURES, MODES, startInit } from '../helpers/start-init.js';

describe.each(MODES)('reaping (%s)', (mode) => {
  it('reaps 500 orphans: no zombie left 2 s after they exit', async () => {
    const run = startInit({ mode, command: [process.execPath, `${FIXTURES}orphans.js`, '500', '0.5'] });
    const { code } = await run.exited;
    const report = JSON.parse(run.stdout().toString()) as { left: number; zombies: number; orphans: number };
    expect(report).toMatchObject({ orphans: 500, left: 0, zombies: 0 });
    expect(code).toBe(0);
  });

  // A run takes 0.3 s on an idle machine and 4-10 s on two cores at load 18: the test's
  // budget is 20 runs at the loaded pace, not the default 60 s.
  it('still sees its main child exit among orphans exiting in bulk (20 runs)', { timeout: 20 * 15_000 }, async () => {
    for (let i = 0; i < 20; i += 1) {
      const run = startInit({ mode, command: [process.execPath, `${FIXTURES}exit-amid-orphans.js`, '100'] });
      expect((await run.exited).code).toBe(7);
    }
  });
});
