// How fast usage grew over the last moment, from the readings of the polls. Pure.

/** The growth rate is taken over this window of readings. */
export const GROWTH_WINDOW_MS = 2000;
/** Readings closer together than this say nothing of a rate. */
const MIN_SPAN_MS = 200;

export type Reading = { atMs: number; value: number };

/** Adds a reading and drops those older than the window (keeping one just before it, as the base). */
export function addReading(readings: readonly Reading[], reading: Reading): Reading[] {
  const next = [...readings, reading];
  while (next.length > 2 && reading.atMs - next[1]!.atMs >= GROWTH_WINDOW_MS) next.shift();
  return next;
}

/** Growth per second from the oldest reading of the window to the newest; 0 when it fell or too little time passed. */
export function growthPerSecond(readings: readonly Reading[]): number {
  const first = readings[0];
  const last = readings.at(-1);
  if (!first || !last || last.atMs - first.atMs < MIN_SPAN_MS) return 0;
  return Math.max(0, ((last.value - first.value) * 1000) / (last.atMs - first.atMs));
}
