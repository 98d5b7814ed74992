import type { Instance } from './instances.js';

/** Recent stops and starts of one key, and how long the guard leaves it alone. */
export type KeyStops = { atMs: readonly number[]; startedAtMs: readonly number[]; backoffUntilMs?: number; backoffMs?: number };

/** A key whose instances are stopped and started over: said once per back-off. */
export type RespawnLoop = { key: string; stopsInWindow: number; startsInWindow: number; windowMs: number; instancesNow: number; backoffMs: number };

// Three stops of one key within a minute, two new instances of it since, and stops going on
// for 10 s at least, means the app starts over what the guard stops. A burst of launches
// that the guard sheds for a few seconds is not a loop yet.
const LOOP_STOPS = 3;
const LOOP_MIN_SPAN_MS = 10_000;
const LOOP_WINDOW_MS = 60_000;
const FIRST_BACKOFF_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/** Whether the duplicate and total-cap rules leave this key alone now. */
export function isBackedOff(stops: KeyStops | undefined, nowMs: number): boolean {
  return stops?.backoffUntilMs !== undefined && nowMs < stops.backoffUntilMs;
}

/**
 * Adds this scan's stops (one key per stop, orphans left out: the app does not see those)
 * and the keys of instances seen for the first time, and starts a back-off for every key
 * that stopped and started over often enough; a key that loops again right after its
 * back-off gets twice as long.
 */
export function recordStops(
  before: ReadonlyMap<string, KeyStops>,
  stoppedKeys: readonly string[],
  startedKeys: readonly string[],
  byKey: ReadonlyMap<string, readonly Instance[]>,
  nowMs: number,
): { stopsByKey: Map<string, KeyStops>; loops: RespawnLoop[] } {
  const recent = (times: readonly number[]) => times.filter((t) => nowMs - t < LOOP_WINDOW_MS);
  const stopsByKey = new Map<string, KeyStops>();
  for (const [key, entry] of before) {
    const backingOff = isBackedOff(entry, nowMs);
    // The back-off length is remembered for one window after it ends, to double it.
    const remembered = entry.backoffUntilMs !== undefined && nowMs - entry.backoffUntilMs < LOOP_WINDOW_MS;
    const next = { ...entry, atMs: recent(entry.atMs), startedAtMs: recent(entry.startedAtMs) };
    if (next.atMs.length > 0 || backingOff || remembered) stopsByKey.set(key, next);
  }
  for (const key of stoppedKeys) {
    const entry = stopsByKey.get(key) ?? { atMs: [], startedAtMs: [] };
    stopsByKey.set(key, { ...entry, atMs: [...entry.atMs, nowMs] });
  }
  // Starts count only after a stop of their key: the instances the app had before are not a loop.
  for (const key of startedKeys) {
    const entry = stopsByKey.get(key);
    if (entry && entry.atMs.length > 0) stopsByKey.set(key, { ...entry, startedAtMs: [...entry.startedAtMs, nowMs] });
  }
  const loops: RespawnLoop[] = [];
  for (const key of new Set(stoppedKeys)) {
    const entry = stopsByKey.get(key)!;
    if (entry.atMs.length < LOOP_STOPS || entry.startedAtMs.length < LOOP_STOPS - 1 || isBackedOff(entry, nowMs)) continue;
    if (nowMs - entry.atMs[0]! < LOOP_MIN_SPAN_MS) continue;
    const backoffMs = entry.backoffMs === undefined ? FIRST_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, entry.backoffMs * 2);
    stopsByKey.set(key, { atMs: [], startedAtMs: [], backoffUntilMs: nowMs + backoffMs, backoffMs });
    loops.push({
      key,
      stopsInWindow: entry.atMs.length,
      startsInWindow: entry.startedAtMs.length,
      windowMs: LOOP_WINDOW_MS,
      instancesNow: byKey.get(key)?.length ?? 0,
      backoffMs,
    });
  }
  return { stopsByKey, loops };
}
