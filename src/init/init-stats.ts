/**
 * What the init has done so far, for an operator to read (metrics, `status`): the init
 * writes it as it goes, the report reads it. Plain counters: no history, bounded in size.
 */
export type InitStats = {
  startedAtMs: number;
  mainChild?: { pid: number; running: boolean; exitCode?: number };
  /** A shutdown signal came (docker stop): the grace period runs. */
  shuttingDown: boolean;
  zombiesReaped: number;
  /** Signals forwarded to the main child, by name. */
  signalsForwarded: Map<string, number>;
};

export function newInitStats(nowMs = Date.now()): InitStats {
  return { startedAtMs: nowMs, shuttingDown: false, zombiesReaped: 0, signalsForwarded: new Map() };
}
