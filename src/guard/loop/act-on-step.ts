// Doing what one step decided: its stops, made in the background (or only reported in a dry
// run), then its holds (SIGSTOP) and releases (SIGCONT), each logged.
import type { CgroupFigures } from '../../cgroup/figures.js';
import { describeStop } from '../describe-stop.js';
import { recordStop, type StopRecord } from '../guard-stats.js';
import type { Instance } from '../instances.js';
import type { Readings, StepResult } from '../step.js';
import type { Stop } from '../stops.js';
import { dispatchStop } from './dispatch-stop.js';
import type { GuardLoop } from './loop-parts.js';
import { signalAll } from './signal-instance.js';

export function actOnStep(loop: GuardLoop, readings: Readings, result: StepResult): void {
  for (const stop of result.stops) makeStop(loop, stop, readings);
  for (const instance of result.hold) holdBack(loop, instance, readings.cgroup);
  for (const { instance, why } of result.release) letGo(loop, instance, why);
  loop.options.stats.heldNow = loop.state.guard.holds.heldSinceMs.size;
}

function makeStop(loop: GuardLoop, stop: Stop, readings: Readings): void {
  const { log, stats, dryRun } = loop.options;
  const { instance } = stop;
  const decision = { ...describeStop(stop, readings.cgroup, loop.pageBytes, loop.metaMcp.isMetaMcp), key: loop.publish(instance.key) };
  const record: StopRecord = {
    atMs: readings.nowMs,
    reason: stop.reason,
    key: decision.key,
    launcherPid: instance.launcher.pid,
    why: decision.why,
    dryRun,
    method: stop.method,
  };
  recordStop(stats, record);
  if (dryRun) {
    log.warn({ ...decision, dryRun: true }, `would stop MCP instance (${stop.reason})`);
    return;
  }
  log.warn(decision, `stopping MCP instance (${stop.reason})`);
  dispatchStop(loop, stop, record);
}

function holdBack(loop: GuardLoop, instance: Instance, cgroup: CgroupFigures): void {
  const { config, log, stats } = loop.options;
  signalAll(instance, 'SIGSTOP', loop.access);
  stats.holds += 1;
  log.info(
    {
      key: loop.publish(instance.key),
      launcherPid: instance.launcher.pid,
      tasks: instance.tasks,
      maxStarting: config.maxStarting,
      pids: cgroup.pids?.currentTasks,
    },
    `holding a starting MCP instance back (SIGSTOP): a limit is near and more than ${config.maxStarting} start at once`,
  );
}

function letGo(loop: GuardLoop, instance: Instance, why: StepResult['release'][number]['why']): void {
  signalAll(instance, 'SIGCONT', loop.access);
  loop.options.log.info({ key: loop.publish(instance.key), launcherPid: instance.launcher.pid, why }, 'letting a held MCP instance go on (SIGCONT)');
}
