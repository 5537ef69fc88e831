/**
 * How much of the past the server keeps: ended messages, dead letters and the delivery logs are
 * each bounded by bytes and by age, never by count alone (a count says nothing about 1 MiB
 * bodies). Oldest out first. The byte figures are estimates of what V8 holds, written down below.
 */

/** A byte budget and an age limit for one retained collection. */
export interface RetentionLimit {
  /** Most bytes kept (estimated, see the constants below); 0 keeps nothing. */
  maxBytes: number;
  /** Entries older than this are forgotten; null: no age limit. */
  maxAgeMs: number | null;
}

export interface RetentionOptions {
  /** Ended messages, for `GET /v2/messages/{id}` after their end. */
  history: RetentionLimit;
  /** Keep an ended message's body in its history (counted against `history.maxBytes`). */
  keepBodies: boolean;
  /** The dead-letter list; a dead letter keeps its body (it is retried from it). */
  deadLetters: RetentionLimit;
  /** `GET /v2/events`; a body larger than `maxBodyBytes` is left out of its entries. */
  logs: RetentionLimit & { maxBodyBytes: number };
}

const MiB = 2 ** 20;
const DAY = 86_400_000;

/** The defaults of the `--history-*`, `--dlq-*`, `--logs-*` and `--keep-bodies` flags. */
export const DEFAULT_RETENTION: RetentionOptions = {
  history: { maxBytes: 64 * MiB, maxAgeMs: 3 * DAY },
  keepBodies: false,
  deadLetters: { maxBytes: 256 * MiB, maxAgeMs: 7 * DAY },
  logs: { maxBytes: 64 * MiB, maxAgeMs: 3 * DAY, maxBodyBytes: 64 * 1024 },
};

/*
 * Size estimates, for 64-bit Node without pointer compression (Node's default build), from heap
 * snapshots: an object is 24 B plus 8 B per field, a timestamp that is not a small integer a
 * 16 B heap number, a Map entry with its share of the table about 40 B, a string 24 B plus one
 * byte per character (Latin-1; other characters take two, not counted). What an entry shares
 * with others (a message's URL and headers, shared by its log entries and its history entry) is
 * counted in each: an upper bound. Checked by `bench/server/waiting-memory.ts estimate`; for
 * 50,000 ended messages with a content type, a 100 B body and one attempt, bytes per message:
 * history without bodies, heap 635, estimate 643; with bodies, 833 and 843; their three log
 * entries, 595 and 832 (the URL, headers and body they share with the history counted again).
 */

/** A string's estimated cost. */
export const stringBytes = (s: string | undefined): number => (s === undefined ? 0 : 24 + s.length);

/** A header object: the object, and per header its slot and its two strings. */
export function headerBytes(headers: Record<string, string>): number {
  let n = 56;
  for (const k in headers) n += 56 + k.length + (headers[k]?.length ?? 0);
  return n;
}

/**
 * The bytes with a buffer of their own. A small request body is a view into an 8 KiB slab that
 * Node shares between allocations (`Buffer.concat`, `Buffer.allocUnsafe`): kept after its message
 * ends as it is, it would hold the whole slab, uncounted.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** A body (of its own, see `ownBytes`): its bytes, the Uint8Array and its ArrayBuffer. */
export const bodyBytes = (body: Uint8Array | undefined): number =>
  body === undefined ? 0 : 100 + body.byteLength;

/**
 * One ended message without its strings, headers and body: the entry (13 fields), its Map slot,
 * its payload object, its id string and two timestamps.
 */
export const MESSAGE_BYTES = 360;
/** One attempt: the object (5 fields), its timestamps and its array slot. */
export const ATTEMPT_BYTES = 112;
/** One log entry without its message's details: the record (7 fields), a timestamp, its queue slot. */
export const LOG_ENTRY_BYTES = 100;
/** What one message's entries in the logs share (its URL, headers, body…): object and Map slot. */
export const LOG_INFO_BYTES = 136;

/** Units of `--*-bytes` values; K, M, G are binary (KiB…), as memory is counted. */
const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: MiB,
  mb: MiB,
  mib: MiB,
  g: 1024 * MiB,
  gb: 1024 * MiB,
  gib: 1024 * MiB,
};

/** Parses a size like `64MiB`, `512k`, `1.5GB` or `1048576` (bytes); null when it is not one. */
export function parseByteSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (m === null) return null;
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const n = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * An insertion-ordered map kept within a byte budget and an age: adding an entry forgets the
 * oldest ones until both hold again. `sizeOf` and `timeOf` must not change while an entry is in
 * the map (its size is subtracted by asking again when it leaves).
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private total = 0;

  constructor(
    private readonly limit: RetentionLimit,
    private readonly sizeOf: (v: V) => number,
    private readonly timeOf: (v: V) => number,
    /** Told of each entry forgotten for the budget or its age (not of `delete`). */
    private readonly onEvict?: (key: K, value: V, why: 'bytes' | 'age') => void,
  ) {}

  /** Estimated bytes held. */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Adds (or moves to the newest end) `key`, then trims to the budget and to `now`'s age limit. */
  set(key: K, value: V, now: number): void {
    this.delete(key);
    this.map.set(key, value);
    this.total += this.sizeOf(value);
    this.trim(now);
  }

  delete(key: K): boolean {
    const v = this.map.get(key);
    if (v === undefined) return false;
    this.map.delete(key);
    this.total -= this.sizeOf(v);
    return true;
  }

  /** Forgets the oldest entries while over the budget or older than the age limit at `now`. */
  trim(now: number): void {
    const oldest = this.limit.maxAgeMs === null ? -Infinity : now - this.limit.maxAgeMs;
    for (const [k, v] of this.map) {
      const why =
        this.total > this.limit.maxBytes ? 'bytes' : this.timeOf(v) < oldest ? 'age' : null;
      if (why === null) break;
      this.map.delete(k);
      this.total -= this.sizeOf(v);
      this.onEvict?.(k, v, why);
    }
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}
