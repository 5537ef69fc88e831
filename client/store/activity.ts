/**
 * What the last frames of events did, beyond the state they left: the frame itself (for the
 * animation layer), the latest refused arrival per key (the docs' "No available token"), and the
 * keys that took messages most recently (followed when no key is selected).
 */
import type { EngineEvent, WaitReason } from '../../shared/events';

/** Keys followed when none is selected. */
export const FOLLOWED_KEYS = 3;
/**
 * How long a followed key stays in view at least before a newly active key may take its place.
 * On a server where many keys are busy, the views would otherwise change keys many times a
 * second: unreadable, and every change redraws a whole diagram.
 */
export const FOLLOW_HOLD_MS = 4000;
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
  /**
   * Keys that took messages recently, one per view: a key keeps its place (so views stay put)
   * until a newer active key takes it over, at least FOLLOW_HOLD_MS after it came into view.
   */
  recentKeys: readonly string[];
  /** Page time each of `recentKeys` came into view. */
  recentSince: readonly number[];
}

export const initialActivity: Activity = {
  frame: 0,
  frameEvents: [],
  arrivals: {},
  recentKeys: [],
  recentSince: [],
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
  let since: number[] | null = null;
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
      const keys: readonly string[] = recent ?? activity.recentKeys;
      if (keys.includes(e.key)) continue;
      const times: readonly number[] = since ?? activity.recentSince;
      let place = keys.length;
      if (place >= FOLLOWED_KEYS) {
        // The view held longest gives way, once it has been shown long enough to be read.
        place = times.indexOf(Math.min(...times));
        if (receivedAt - (times[place] ?? receivedAt) < FOLLOW_HOLD_MS) continue;
      }
      recent = [...keys];
      since = [...times];
      recent[place] = e.key;
      since[place] = receivedAt;
    }
  }
  return {
    frame: activity.frame + 1,
    frameEvents: events,
    arrivals: arrivals ?? activity.arrivals,
    recentKeys: recent ?? activity.recentKeys,
    recentSince: since ?? activity.recentSince,
  };
}

/**
 * The keys a page open all along would follow after `events` (the latest events, as a snapshot
 * brings them): their `message:accepted` replayed at the page time each happened.
 */
export function followedKeys(
  events: readonly EngineEvent[],
  clockOffsetMs: number,
): Pick<Activity, 'recentKeys' | 'recentSince'> {
  let activity = initialActivity;
  for (const e of events) {
    if (e.type === 'message:accepted')
      activity = recordActivity(activity, [e], e.at - clockOffsetMs);
  }
  return { recentKeys: activity.recentKeys, recentSince: activity.recentSince };
}
