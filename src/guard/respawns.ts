// Telling a respawn (the app starting again what the guard stopped) from new demand (a new
// session asking for the server), and backing off the optional trims of a key that loops.
// Pure.

/**
 * A start comes this soon after a stop to be its replacement: MetaMCP retries a failed
 * connection 5 s after it failed; a supervisor restarts at once.
 */
export const RESPAWN_WINDOW_MS = 10_000;
// Three respawns of one key within a minute is a loop.
const LOOP_RESPAWNS = 3;
const LOOP_WINDOW_MS = 60_000;
const FIRST_BACKOFF_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/** The starts and the optional stops of one key, within the loop window. */
export type KeyStarts = {
  startsAtMs: readonly number[];
  /** Stops nothing forced (trims, and stops that cost the app nothing at the high mark). */
  stopsAtMs: readonly number[];
  /** Of those, the ones no start has replaced yet. */
  unmatchedStopsAtMs: readonly number[];
  respawnsAtMs: readonly number[];
  backoffUntilMs?: number;
  backoffMs?: number;
};

/** A key whose instances are stopped and started over: said once per back-off. */
export type RespawnLoop = { key: string; respawnsInWindow: number; windowMs: number; instancesNow: number; backoffMs: number };

const EMPTY: KeyStarts = { startsAtMs: [], stopsAtMs: [], unmatchedStopsAtMs: [], respawnsAtMs: [] };

/** Whether the optional trims (duplicate, max-instances) leave this key alone now. */
export function isBackedOff(starts: KeyStarts | undefined, nowMs: number): boolean {
  return starts?.backoffUntilMs !== undefined && nowMs < starts.backoffUntilMs;
}

/**
 * Adds this scan's starts and optional stops of each key. A start is a respawn when it comes
 * within RESPAWN_WINDOW_MS of a stop that nothing replaced yet, and in the window before that
 * stop the key was started no more often than it was stopped: every start there may have
 * been a replacement too. New sessions start a key whether it is stopped or not, so their
 * starts outnumber the stops. Stops forced by a limit do not count: in a storm the guard
 * stops as fast as the app starts, and those stops are made whatever the app does next; the
 * back-off concerns only the stops nothing forces.
 * A key with LOOP_RESPAWNS respawns in a minute starts a back-off, doubled if it loops again
 * within a minute of the last one's end. Each stop is replaced at most once.
 */
export function recordStarts(
  before: ReadonlyMap<string, KeyStarts>,
  started: readonly string[],
  stopped: readonly string[],
  instancesByKey: (key: string) => number,
  nowMs: number,
): { starts: Map<string, KeyStarts>; loops: RespawnLoop[] } {
  const recent = (times: readonly number[], windowMs = LOOP_WINDOW_MS) => times.filter((t) => nowMs - t < windowMs);
  const next = new Map<string, KeyStarts>();
  for (const [key, entry] of before) {
    const kept: KeyStarts = {
      ...entry,
      startsAtMs: recent(entry.startsAtMs),
      stopsAtMs: recent(entry.stopsAtMs),
      unmatchedStopsAtMs: recent(entry.unmatchedStopsAtMs, RESPAWN_WINDOW_MS),
      respawnsAtMs: recent(entry.respawnsAtMs),
    };
    const remembered = kept.backoffUntilMs !== undefined && nowMs - kept.backoffUntilMs < LOOP_WINDOW_MS;
    if (kept.startsAtMs.length > 0 || kept.stopsAtMs.length > 0 || remembered || isBackedOff(kept, nowMs)) next.set(key, kept);
  }
  const loops: RespawnLoop[] = [];
  for (const key of started) {
    const entry = next.get(key) ?? EMPTY;
    const withStart = { ...entry, startsAtMs: [...entry.startsAtMs, nowMs] };
    const [stop, ...rest] = entry.unmatchedStopsAtMs;
    const inWindowBefore = (times: readonly number[]) => (stop === undefined ? 0 : times.filter((t) => t < stop && stop - t < RESPAWN_WINDOW_MS).length);
    if (stop === undefined || inWindowBefore(entry.startsAtMs) > inWindowBefore(entry.stopsAtMs)) {
      next.set(key, withStart);
      continue;
    }
    const respawned: KeyStarts = { ...withStart, unmatchedStopsAtMs: rest, respawnsAtMs: [...entry.respawnsAtMs, nowMs] };
    if (respawned.respawnsAtMs.length >= LOOP_RESPAWNS && !isBackedOff(respawned, nowMs)) {
      const backoffMs = respawned.backoffMs === undefined ? FIRST_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, respawned.backoffMs * 2);
      loops.push({ key, respawnsInWindow: respawned.respawnsAtMs.length, windowMs: LOOP_WINDOW_MS, instancesNow: instancesByKey(key), backoffMs });
      next.set(key, { ...respawned, respawnsAtMs: [], backoffUntilMs: nowMs + backoffMs, backoffMs });
    } else next.set(key, respawned);
  }
  for (const key of stopped) {
    const entry = next.get(key) ?? EMPTY;
    next.set(key, { ...entry, stopsAtMs: [...entry.stopsAtMs, nowMs], unmatchedStopsAtMs: [...entry.unmatchedStopsAtMs, nowMs] });
  }
  return { starts: next, loops };
}
