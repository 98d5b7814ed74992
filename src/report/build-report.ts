import type { CgroupFigures } from '../cgroup/figures.js';
import type { GuardStats } from '../guard/guard-stats.js';
import type { InitStats } from '../init/init-stats.js';
import { judgeHealth } from './health.js';
import type { InitReport, LimitReport } from './init-report.js';

/** The init's own figures at the moment of the report. */
export type SelfFigures = { pid: number; tasks: number | undefined; rssBytes: number | undefined };

/** Puts the init's and the guard's figures together into one report. Pure. */
export function buildReport(parts: {
  version: string;
  atMs: number;
  self: SelfFigures;
  cgroup: CgroupFigures;
  init: InitStats;
  guard: GuardStats;
}): InitReport {
  const { init } = parts;
  const { cgroup: _atLastScan, stops, stopEnds, ...guard } = parts.guard;
  const limit = (view: GuardStats['limits']['pids']): LimitReport | undefined => (view ? { current: view.current, ...view.marks } : undefined);
  const limits: InitReport['guard']['limits'] = {};
  const pids = limit(guard.limits.pids);
  if (pids) limits.pids = pids;
  const memory = limit(guard.limits.memory);
  if (memory) limits.memory = memory;
  const withoutHealth: Omit<InitReport, 'health'> = {
    version: parts.version,
    atMs: parts.atMs,
    init: { ...parts.self, startedAtMs: init.startedAtMs },
    ...(init.mainChild ? { mainChild: { ...init.mainChild } } : {}),
    shuttingDown: init.shuttingDown,
    zombiesReaped: init.zombiesReaped,
    signalsForwarded: Object.fromEntries(init.signalsForwarded),
    cgroup: parts.cgroup,
    guard: { ...guard, limits, stops: Object.fromEntries(stops), stopEnds: Object.fromEntries(stopEnds) },
  };
  return { ...withoutHealth, health: judgeHealth(withoutHealth) };
}
