// One scan of the guard loop: read, step, act, publish. Every decision is the step's (step.ts).

import { growthPerSecond } from '../growth.js';
import { viewLimits } from '../guard-stats.js';
import { stepGuard } from '../step.js';
import { actOnStep } from './act-on-step.js';
import { logStep } from './log-step.js';
import type { GuardLoop } from './loop-parts.js';
import { publishScan } from './publish-scan.js';

export async function scanOnce(loop: GuardLoop): Promise<void> {
  const { state, options } = loop;
  state.lastScanMs = Date.now();
  const startedAt = performance.now();
  const read = await loop.read();
  const readings = { ...read, growthPerSecond: { tasks: growthPerSecond(state.pidsReadings), bytes: growthPerSecond(state.memoryReadings) } };
  const { cgroup } = readings;
  state.seenTasks = cgroup.pids?.currentTasks;
  state.memoryBytes = cgroup.memory?.workingSetBytes;
  const { config, initPid, mainPid, dryRun } = options;
  const result = stepGuard(state.guard, readings, { config, initPid, mainPid, dryRun, crashBudget: loop.metaMcp.crashBudget() });
  state.guard = result.state;
  state.pressed = result.pressed;
  loop.watch?.watch(result.spawners);
  logStep(loop, readings, result);
  actOnStep(loop, readings, result);
  loop.metaMcp.forgetGone(readings.procs);
  const durationMs = performance.now() - startedAt;
  state.seen = { cgroup, limits: viewLimits(cgroup, config.pidsHeadroom, config.memoryHeadroom), instances: result.instances.length };
  publishScan(loop, readings, result, durationMs);
}
