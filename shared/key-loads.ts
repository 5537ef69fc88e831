/**
 * Each key's counts as the charts draw them (in flight, waiting, limit), followed from the events,
 * so the server's history costs no read of the store per command. The events tell them exactly:
 *
 * - in flight: `token:acquired` and `token:released` carry it;
 * - the limit: `key:configured` carries it;
 * - waiting: `message:waitlisted` carries the size it makes; a waiter leaves at each
 *   `token:handed-off`, and at a `token:acquired` that waited (a message that starts when it
 *   becomes ready never waited, unless it joined the waitlist in that same millisecond, which a
 *   `message:waitlisted` of that millisecond says).
 *
 * Only a cancellation does not say whether it took a waiter or a delayed message: that key, and a
 * key it does not follow yet (it follows the keys whose history is kept), is read from the store
 * (`read`) once, after the events.
 */
import type { EngineEvent } from './events';
import type { KeyId, MessageId } from './engine/units';
import type { KeyLoad } from './history';

interface Followed {
  inFlight: number;
  waitListSize: number;
  parallelism: number | null;
  /** The millisecond of `joinedNow`. */
  joinedAt: number;
  /** The messages that joined the waitlist at `joinedAt`. */
  joinedNow: Set<MessageId>;
}

const unknown = (): Followed => ({
  inFlight: 0,
  waitListSize: 0,
  parallelism: null,
  joinedAt: -1,
  joinedNow: new Set(),
});

export class KeyLoads {
  private readonly keys = new Map<KeyId, Followed>();
  /** Keys whose counts the last events did not tell: read them again. */
  private readonly unsure = new Set<KeyId>();

  /** `read` answers a key's counts from the store, or undefined when it cannot (now). */
  constructor(private readonly read: (key: KeyId) => KeyLoad | undefined) {}

  /** Follows one command's events (a cancellation is told apart by the rest of its command). */
  apply(events: readonly EngineEvent[]): void {
    let ran: Set<MessageId> | null = null;
    for (const e of events) {
      if (e.type === 'delivery:succeeded' || e.type === 'delivery:failed') {
        (ran ??= new Set()).add(e.messageId);
      }
    }
    for (const e of events) {
      if (e.type === 'global:configured') continue;
      if (e.type === 'key:forgotten') {
        this.keys.delete(e.key);
        this.unsure.delete(e.key);
        continue;
      }
      let k = this.keys.get(e.key);
      if (k === undefined) {
        // Its counts come from the store after these events; what joined when, from them.
        k = unknown();
        this.keys.set(e.key, k);
        this.unsure.add(e.key);
      }
      switch (e.type) {
        case 'message:waitlisted':
          k.waitListSize = e.position;
          if (k.joinedAt !== e.at) {
            k.joinedAt = e.at;
            k.joinedNow.clear();
          }
          k.joinedNow.add(e.messageId);
          break;
        case 'token:acquired':
          k.inFlight = e.inFlight;
          if (e.waitedMs > 0 || (k.joinedAt === e.at && k.joinedNow.has(e.messageId))) {
            k.waitListSize--;
          }
          break;
        case 'token:handed-off':
          k.waitListSize--;
          break;
        case 'token:released':
          k.inFlight = e.inFlight;
          break;
        case 'key:configured':
          k.parallelism = e.parallelism;
          break;
        case 'message:cancelled':
          // One that was running ends with its delivery, in the same command.
          if (ran?.has(e.messageId) !== true) this.unsure.add(e.key);
          break;
        default:
          break;
      }
    }
  }

  /** The key's counts after the events applied so far, or undefined for a key that is gone. */
  load(key: KeyId): KeyLoad | undefined {
    let k = this.keys.get(key);
    if (k !== undefined && !this.unsure.has(key)) return k;
    this.unsure.delete(key);
    const read = this.read(key);
    if (read === undefined) {
      this.keys.delete(key);
      return undefined;
    }
    if (k === undefined) {
      k = unknown();
      this.keys.set(key, k);
    }
    k.inFlight = read.inFlight;
    k.waitListSize = read.waitListSize;
    k.parallelism = read.parallelism;
    return k;
  }

  /** Stops following the keys `keep` turns down (their next events read them again). */
  retain(keep: (key: KeyId) => boolean): void {
    for (const key of this.keys.keys()) if (!keep(key)) this.keys.delete(key);
  }

  get size(): number {
    return this.keys.size;
  }
}
