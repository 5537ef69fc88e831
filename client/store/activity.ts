/**
 * What the last frames of events did, beyond the state they left: the frame itself (for the
 * animation layer), the latest refused arrival per key (the docs' "No available token"), and the
 * keys that took messages most recently (followed when no key is selected).
 */
import type { EngineEvent, WaitReason } from '../../shared/events';

/** Keys followed when none is selected. */
export const FOLLOWED_KEYS = 3;
/**
 * How long a refused arrival's sketch plays; older ones are dropped on the next frame. A later
 * refusal of the same key meanwhile takes over the playing sketch (see recordActivity).
 */
export const ARRIVAL_MS = 2000;

/** A request that found no way to start and joined the waitlist. */
export interface Arrival {
  messageId: string;
  reason: WaitReason;
  position: number;
  /**
   * Page time when the sketch that shows it started (the drawing's clock, not the server's): its
   * own frame's, or an earlier refusal's whose sketch it took over.
   */
  receivedAt: number;
}

export interface Activity {
  /** Counts applied frames; the animation layer compares it to see a new one. */
  frame: number;
  /** The events of the latest frame, in `seq` order. */
  frameEvents: readonly EngineEvent[];
  /** The latest arrival per key, while its sketch plays. */
  arrivals: Readonly<Record<string, Arrival>>;
  /** Keys that took messages most recently, in the order they first did (so views stay put). */
  recentKeys: readonly string[];
}

export const initialActivity: Activity = {
  frame: 0,
  frameEvents: [],
  arrivals: {},
  recentKeys: [],
};

/** The activity after one applied frame of `events` received at page time `receivedAt`. */
export function recordActivity(
  activity: Activity,
  events: readonly EngineEvent[],
  receivedAt: number,
): Activity {
  let arrivals: Record<string, Arrival> | null = null;
  for (const [key, a] of Object.entries(activity.arrivals)) {
    if (receivedAt - a.receivedAt > ARRIVAL_MS) {
      arrivals ??= { ...activity.arrivals };
      delete arrivals[key];
    }
  }
  let recent: string[] | null = null;
  for (const e of events) {
    if (e.type === 'message:waitlisted') {
      arrivals ??= { ...activity.arrivals };
      // A refusal while the key's sketch plays moves the sketch to the newcomer instead of
      // starting it over: a busy key is refused many times a second, and a sketch restarted with
      // each would never finish (and would be drawn anew every frame).
      const playing = arrivals[e.key];
      arrivals[e.key] = {
        messageId: e.messageId,
        reason: e.reason,
        position: e.position,
        receivedAt: playing?.receivedAt ?? receivedAt,
      };
    } else if (e.type === 'message:accepted') {
      const list: readonly string[] = recent ?? activity.recentKeys;
      if (!list.includes(e.key)) {
        recent = [...list, e.key].slice(-FOLLOWED_KEYS);
      }
    }
  }
  return {
    frame: activity.frame + 1,
    frameEvents: events,
    arrivals: arrivals ?? activity.arrivals,
    recentKeys: recent ?? activity.recentKeys,
  };
}
