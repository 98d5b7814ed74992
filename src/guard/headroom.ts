/** How close to a limit usage may come: an absolute amount (tasks or bytes) or a share of the limit. */
export type Headroom = { percent: number } | { amount: number };

/** The headroom in the limit's unit. */
export function headroomOf(headroom: Headroom, limit: number): number {
  return 'percent' in headroom ? Math.floor((limit * headroom.percent) / 100) : headroom.amount;
}

/**
 * The pressure on one limit. Stopping starts when usage reaches `limit - headroom` (the
 * high watermark), and goes on until usage would be under `limit - 1.5 * headroom` (the low
 * watermark), so that one stop does not leave usage hovering at the trigger. Up to the
 * critical mark, half-way from high to the limit, the guard stops only what harms nobody;
 * from there on, the limit itself is the greater harm.
 */
export type Watermarks = { limit: number; high: number; critical: number; low: number };

/** High, critical and low watermarks of a limit. */
export function watermarksOf(headroom: Headroom, limit: number): Watermarks {
  const room = headroomOf(headroom, limit);
  return { limit, high: limit - room, critical: limit - Math.floor(room / 2), low: Math.max(0, limit - Math.ceil(room * 1.5)) };
}
