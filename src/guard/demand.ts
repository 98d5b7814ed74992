// Whether the app asks for more than the limit holds: when the guard must keep stopping
// instances the app holds to keep the cgroup under its limit, no policy serves every
// session, and the operator should hear the figure that would fit. Pure.
import { type Headroom, headroomOf } from './headroom.js';

/** Forced stops are counted over this window. */
export const DEMAND_WINDOW_MS = 60_000;
/** This many forced stops within the window, spread over STEADY_MS at least, with the estimate at the limit, is steady demand. */
const FORCED_STOPS = 2;
const STEADY_MS = 10_000;
/** An episode ends when no stop was forced for this long; the next one is said again. */
const EPISODE_GAP_MS = 5 * 60_000;

/** One limit's unit, for the figures. */
export type LimitKind = 'pids' | 'memory';

/**
 * What one stop forced by a limit took from the app (the instance, and what the app closed
 * itself after it); `heldBack`: a scan past the critical mark at which the guard could stop
 * nothing it may (the crash budget spent, or none given): the app presses on the limit.
 */
export type ForcedStop = { atMs: number; key: string; instances: number; amount: number; heldBack?: boolean };

export type DemandState = {
  forced: readonly ForcedStop[];
  /** An episode is under way: it was said, and /healthz is degraded until it ends. */
  saidAtMs?: number;
  lastForcedAtMs?: number;
  last?: DemandEstimate;
};

export const EMPTY_DEMAND: DemandState = { forced: [] };

/** The app's demand as the guard estimates it, and what limit would hold it. */
export type DemandEstimate = {
  limit: LimitKind;
  /** The limit now, and the usage now. */
  limitAmount: number;
  usage: number;
  /** Usage plus what forced stops took within the window and what held starts would take: what the app would hold without the guard (at least). */
  demand: number;
  /** The limit at which the demand would stay under the high mark with the same headroom. */
  needed: number;
  forcedStops: number;
  /** Of the demand, what the starts held back would still take once grown. */
  waiting: number;
  keys: number;
  instances: number;
  /** Per tree, as the largest of each key grew to, on average over the keys. */
  perTree: number;
};

/** Adds forced stops and the instances the app closed after them. */
export function recordForced(state: DemandState, stops: readonly ForcedStop[], nowMs: number): DemandState {
  const forced = [...state.forced, ...stops].filter((stop) => nowMs - stop.atMs < DEMAND_WINDOW_MS);
  const lastForcedAtMs = stops.length > 0 ? nowMs : state.lastForcedAtMs;
  return { ...state, forced, ...(lastForcedAtMs === undefined ? {} : { lastForcedAtMs }) };
}

/**
 * Judges the demand at one scan: steady demand exceeds the limit when FORCED_STOPS stops or
 * more were forced within the window, the first of them STEADY_MS ago or more (a burst is not
 * steady demand), and usage plus what they took reaches the limit.
 * `newEpisode` is true once per episode, the moment to say it.
 */
export function judgeDemand(
  state: DemandState,
  figures: {
    limit: LimitKind;
    limitAmount: number;
    usage: number;
    /** What the starts the guard holds back would still take, grown: the app asked for it too. */
    waiting?: number;
    headroom: Headroom;
    keys: number;
    instances: number;
    perTree: number;
  },
  nowMs: number,
): { state: DemandState; exceeded?: DemandEstimate; newEpisode: boolean } {
  const forced = state.forced.filter((stop) => nowMs - stop.atMs < DEMAND_WINDOW_MS);
  const ended = state.saidAtMs !== undefined && (state.lastForcedAtMs === undefined || nowMs - state.lastForcedAtMs >= EPISODE_GAP_MS);
  const base: DemandState = { forced, ...(state.lastForcedAtMs === undefined ? {} : { lastForcedAtMs: state.lastForcedAtMs }) };
  const ongoing: DemandState = ended
    ? base
    : { ...base, ...(state.saidAtMs === undefined ? {} : { saidAtMs: state.saidAtMs }), ...(state.last ? { last: state.last } : {}) };
  const taken = forced.reduce((total, stop) => total + stop.amount, 0);
  const demand = figures.usage + (figures.waiting ?? 0) + taken;
  const steady = forced.length >= FORCED_STOPS && nowMs - forced[0]!.atMs >= STEADY_MS;
  const heldBack = forced.some((stop) => stop.heldBack);
  if (!steady || (demand < figures.limitAmount && !heldBack)) return { state: ongoing, ...(ongoing.last ? { exceeded: ongoing.last } : {}), newEpisode: false };
  const share = headroomOf(figures.headroom, figures.limitAmount) / figures.limitAmount;
  const estimate: DemandEstimate = {
    limit: figures.limit,
    limitAmount: figures.limitAmount,
    usage: figures.usage,
    demand,
    // Held back at the critical mark, the app asks for the limit at least.
    needed: Math.ceil(Math.max(demand, heldBack ? figures.limitAmount : 0) / (1 - Math.min(share, 0.9))),
    forcedStops: forced.filter((stop) => !stop.heldBack).length,
    waiting: figures.waiting ?? 0,
    keys: figures.keys,
    instances: figures.instances + forced.reduce((total, stop) => total + stop.instances, 0),
    perTree: figures.perTree,
  };
  const newEpisode = ongoing.saidAtMs === undefined;
  return { state: { ...ongoing, saidAtMs: ongoing.saidAtMs ?? nowMs, last: estimate }, exceeded: estimate, newEpisode };
}
