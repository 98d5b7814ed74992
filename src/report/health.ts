import type { Health, HealthState, InitReport, LimitReport } from './init-report.js';

/** A guard whose last completed scan is older than this many of its scan gaps has stopped watching. */
const STALE_INTERVALS = 5;
/** ...and never less than this: a loaded machine may delay a scan by seconds. */
const MIN_STALE_MS = 10_000;

/**
 * Healthy while the main child runs, the guard (when on) scans, and no limit is stuck: at
 * or past its critical mark with nothing left that the guard may stop (every process
 * there is something other than an MCP instance, or one the kernel will not let it stop).
 * A shutdown in progress is still healthy: the main child runs its grace period, and a
 * failing liveness probe would only cut that short. Pure.
 */
export function judgeHealth(report: Omit<InitReport, 'health'>): Health {
  const { mainChild, guard } = report;
  if (!mainChild) return unhealthy('main-child-not-started', 'the main child has not started yet');
  if (!mainChild.running) {
    return unhealthy(
      'main-child-exited',
      `the main child (pid ${mainChild.pid}) exited${mainChild.exitCode === undefined ? '' : ` with status ${mainChild.exitCode}`}; the init is stopping what is left`,
    );
  }
  if (guard.mode !== 'off') {
    const staleAfterMs = Math.max(STALE_INTERVALS * guard.scanEveryMs, MIN_STALE_MS);
    const sinceMs = report.atMs - (guard.lastScanAtMs ?? report.init.startedAtMs);
    if (sinceMs > staleAfterMs) {
      const last = guard.lastScanAtMs === undefined ? 'no scan has completed' : `the last scan completed ${seconds(sinceMs)} ago`;
      const error = guard.lastScanError === undefined ? '' : `; the last error: ${guard.lastScanError}`;
      return unhealthy('guard-not-scanning', `the guard is not watching: ${last}${error}`);
    }
    const stoppable = guard.instances.filter((instance) => !instance.refused).length;
    if (stoppable === 0) {
      const pids = guard.limits.pids;
      if (isPastCritical(pids)) {
        return unhealthy(
          'stuck-at-pids-limit',
          `pids ${pids.current} of ${pids.limit} (critical mark ${pids.critical}), and no MCP instance is left that the guard may stop`,
        );
      }
      const memory = guard.limits.memory;
      if (isPastCritical(memory)) {
        return unhealthy(
          'stuck-at-memory-limit',
          `memory ${mib(memory.current)} of ${mib(memory.limit)} (critical mark ${mib(memory.critical)}), and no MCP instance is left that the guard may stop`,
        );
      }
    }
  }
  // Healthy still (a restart would not help and would end every session), but the operator should know.
  const demand = guard.demand.pids ?? guard.demand.memory;
  if (guard.mode === 'on' && demand) {
    const unit = demand.limit === 'pids' ? '' : ' bytes';
    return {
      healthy: true,
      state: 'degraded',
      reason: `the app asks for more than the ${demand.limit} limit holds: ${demand.forcedStops} instances it held were stopped in the last minute to stay under ${demand.limitAmount}${unit}; about ${demand.needed}${unit} would fit`,
    };
  }
  return { healthy: true, state: 'ok', reason: `the main child runs${guard.mode === 'off' ? '' : ', the guard scans, and no limit is stuck'}` };
}

function isPastCritical(limit: LimitReport | undefined): limit is LimitReport {
  return limit !== undefined && limit.current >= limit.critical;
}

function unhealthy(state: HealthState, reason: string): Health {
  return { healthy: false, state, reason };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}
