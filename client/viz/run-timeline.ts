/**
 * A run of messages as a timeline: for each message, when it arrived and, per attempt, when it was
 * ready, when it started and when it ended. Built from engine events alone, so the prediction (the
 * events of an engine run in the page) and the reality (the events the server streams) are read by
 * the same code and can be laid one over the other.
 */
import type { EngineEvent } from '../../shared/events';

/** One delivery attempt: ready (waiting for flow control) → started (holding a token) → ended. */
export interface Attempt {
  readyAt: number;
  startAt: number | null;
  endAt: number | null;
  /** Null while it runs. */
  ok: boolean | null;
}

/** One message of the run; times are ms from the run's origin. */
export interface RequestTimeline {
  id: string;
  arrivedAt: number;
  attempts: Attempt[];
  outcome: 'delivered' | 'dead' | 'cancelled' | null;
}

interface Mutable {
  arrivedAt: number;
  attempts: Attempt[];
  outcome: RequestTimeline['outcome'];
}

/**
 * Collects the events of some messages, by id, as they come (in `seq` order). `rows` then reads the
 * timeline of the chosen ids; events of ids never asked for cost a small record each.
 */
export class TimelineBuilder {
  private readonly byId = new Map<string, Mutable>();

  /** How many messages it holds a record of. */
  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Takes one event in; events that are not about a message's journey are ignored. */
  add(e: EngineEvent): void {
    switch (e.type) {
      case 'message:accepted': {
        // A delayed message is ready only at its `notBefore`.
        const readyAt = e.notBefore ?? e.at;
        this.byId.set(e.messageId, {
          arrivedAt: e.at,
          attempts: [{ readyAt, startAt: null, endAt: null, ok: null }],
          outcome: null,
        });
        return;
      }
      case 'token:acquired':
        return this.started(e.messageId, e.attempt, e.at, e.waitedMs);
      case 'token:handed-off':
        return this.started(e.to, e.attempt, e.at, e.waitedMs);
      case 'delivery:succeeded':
        return this.ended(e.messageId, e.attempt, e.at, true, null);
      case 'delivery:failed':
        return this.ended(e.messageId, e.attempt, e.at, false, e.retryAt);
      case 'lease:expired': {
        // The server reclaimed the token; the retry, if any, comes back as a new start.
        const a = this.current(e.messageId);
        if (a !== undefined && a.endAt === null) {
          a.endAt = e.at;
          a.ok = false;
        }
        return;
      }
      case 'message:delivered':
        return this.settled(e.messageId, 'delivered');
      case 'message:dead-lettered':
        return this.settled(e.messageId, 'dead');
      case 'message:cancelled':
        return this.settled(e.messageId, 'cancelled');
      default:
        return;
    }
  }

  /** The timeline of one message, times relative to `origin`; undefined before its acceptance. */
  row(id: string, origin: number): RequestTimeline | undefined {
    const m = this.byId.get(id);
    if (m === undefined) return undefined;
    return {
      id,
      arrivedAt: m.arrivedAt - origin,
      attempts: m.attempts.map((a) => ({
        readyAt: a.readyAt - origin,
        startAt: a.startAt === null ? null : a.startAt - origin,
        endAt: a.endAt === null ? null : a.endAt - origin,
        ok: a.ok,
      })),
      outcome: m.outcome,
    };
  }

  /**
   * The timelines of `ids`, in that order, with times made relative to `origin`; an id with no
   * events yet is left out (it was not accepted, or its events have not arrived).
   */
  rows(ids: readonly string[], origin: number): RequestTimeline[] {
    const out: RequestTimeline[] = [];
    for (const id of ids) {
      const r = this.row(id, origin);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** The earliest arrival among `ids` (the real run's origin), or null when none has arrived. */
  firstArrival(ids: readonly string[]): number | null {
    let first: number | null = null;
    for (const id of ids) {
      const m = this.byId.get(id);
      if (m !== undefined && (first === null || m.arrivedAt < first)) first = m.arrivedAt;
    }
    return first;
  }

  private current(id: string): Attempt | undefined {
    const m = this.byId.get(id);
    return m?.attempts[m.attempts.length - 1];
  }

  private attempt(id: string, n: number, readyAt: number): Attempt | undefined {
    const m = this.byId.get(id);
    if (m === undefined) return undefined;
    // A retry's ready time is known from its failure; a missed one is filled in here.
    while (m.attempts.length <= n)
      m.attempts.push({ readyAt, startAt: null, endAt: null, ok: null });
    return m.attempts[n];
  }

  private started(id: string, n: number, at: number, waitedMs: number): void {
    const a = this.attempt(id, n, at - waitedMs);
    if (a === undefined) return;
    a.readyAt = at - waitedMs;
    a.startAt = at;
  }

  private ended(id: string, n: number, at: number, ok: boolean, retryAt: number | null): void {
    const a = this.attempt(id, n, at);
    if (a === undefined) return;
    a.endAt = at;
    a.ok = ok;
    if (retryAt !== null) this.attempt(id, n + 1, retryAt);
  }

  private settled(id: string, outcome: NonNullable<RequestTimeline['outcome']>): void {
    const m = this.byId.get(id);
    if (m !== undefined) m.outcome = outcome;
  }
}

/** What a run took, in the words the form states it. */
export interface RunSummary {
  /** From the origin to the last end; null until every request has ended. */
  totalMs: number | null;
  /** The latest end so far (the total once all have ended). */
  lastEndMs: number;
  /** The longest time one attempt waited for flow control (not a retry's backoff). */
  longestWaitMs: number;
  /** Which row waited longest (0-based), or null when none waited. */
  longestWaitRow: number | null;
  ended: number;
  failedAttempts: number;
}

/** Totals of `rows`: the total time, the longest wait, how many have ended. */
export function summarize(rows: readonly RequestTimeline[], expected = rows.length): RunSummary {
  let lastEndMs = 0;
  let longestWaitMs = 0;
  let longestWaitRow: number | null = null;
  let ended = 0;
  let failedAttempts = 0;
  rows.forEach((r, i) => {
    if (r.outcome !== null) ended++;
    for (const a of r.attempts) {
      if (a.endAt !== null) lastEndMs = Math.max(lastEndMs, a.endAt);
      if (a.ok === false) failedAttempts++;
      if (a.startAt !== null && a.startAt - a.readyAt > longestWaitMs) {
        longestWaitMs = a.startAt - a.readyAt;
        longestWaitRow = i;
      }
    }
  });
  return {
    totalMs: ended === expected && expected > 0 ? lastEndMs : null,
    lastEndMs,
    longestWaitMs,
    longestWaitRow,
    ended,
    failedAttempts,
  };
}
