// What one step saw and learnt, told to the log (and the respawn loops counted): what the app
// is, the crash budgets it spent, the scan at trace level, respawns, lessons and demand.
import type { DemandEstimate } from '../demand.js';
import { describeDemand, describeLesson } from '../describe-stop.js';
import type { Readings, StepResult } from '../step.js';
import type { GuardLoop } from './loop-parts.js';

export function logStep(loop: GuardLoop, readings: Readings, result: StepResult): void {
  const { log, stats } = loop.options;
  const { publish } = loop;
  logMetaMcp(loop, readings, result);
  for (const key of result.budgetSpent)
    log.warn(
      { key: publish(key), crashBudget: loop.metaMcp.crashBudget() },
      "the guard spent this server's crash budget: it stops no more of its instances that the app holds",
    );
  if (log.isLevelEnabled('trace')) traceScan(loop, readings, result);
  stats.respawnLoops += result.loops.length;
  for (const respawns of result.loops) {
    log.warn(
      { ...respawns, key: publish(respawns.key) },
      `instances of one command are stopped and started over: leaving its duplicates alone for ${Math.round(respawns.backoffMs / 1000)} s (the limits are still kept)`,
    );
  }
  for (const lesson of result.lessons) log.info({ ...describeLesson(lesson), key: publish(lesson.key) }, 'learnt how the app takes a stop of this key');
  for (const estimate of result.demandNotices) log.warn(describeDemand(estimate), demandMessage(estimate));
}

function logMetaMcp(loop: GuardLoop, readings: Readings, result: StepResult): void {
  const { options, metaMcp } = loop;
  if (!metaMcp.spot([readings.procs.get(options.mainPid), ...result.spawners], result.instances)) return;
  options.log.info(
    { crashBudget: metaMcp.crashBudget() },
    options.crashBudget === undefined
      ? 'the app looks like MetaMCP: the guard makes no stop it would count as a crash (set METAMCP_INIT_CRASH_BUDGET to what its MCP_MAX_ATTEMPTS tolerates)'
      : 'the app looks like MetaMCP',
  );
}

/** The scan at trace level, when its keys or pids.current changed. */
function traceScan(loop: GuardLoop, { procs, cgroup }: Readings, result: StepResult): void {
  const { publish, state } = loop;
  const keys: Record<string, number> = {};
  for (const instance of result.instances) keys[publish(instance.key)] = (keys[publish(instance.key)] ?? 0) + 1;
  const summary = JSON.stringify({ keys, pids: cgroup.pids?.currentTasks });
  if (summary !== state.lastSummary)
    loop.options.log.trace(
      { procs: procs.size, appProcs: result.appProcs, keys, stopping: state.guard.underWay.size, pids: cgroup.pids, memory: cgroup.memory },
      'scan',
    );
  state.lastSummary = summary;
}

function demandMessage(estimate: DemandEstimate): string {
  return `the app asks for more than the ${estimate.limit} limit holds: the guard keeps stopping instances it holds; a limit of about ${estimate.needed} would fit`;
}
