/**
 * Records: what the server keeps besides flow control (URL groups, queues, schedules…), as named
 * collections of documents, in this process's memory by default or in Redis with `--redis`, so
 * any server answers any API call the same way and a restart of every server loses none of them.
 *
 * Both stores keep each document encoded (a `Codec`), so they behave alike: a value read is a
 * copy (changing it changes nothing stored until it is put back), and `replace` compares the
 * stored encoding with the expected one. A collection lists its documents in the order their ids
 * were first put; replacing a document keeps its place, deleting it and putting it again moves it
 * to the end.
 */
import type { MaybePromise } from './flow-store';

/** How a document is stored: a string each way. */
export interface Codec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

export interface Collection<T> {
  get(id: string): MaybePromise<T | undefined>;
  /** The documents under `ids`, in their order (one read for all on Redis). */
  getMany(ids: readonly string[]): MaybePromise<Array<T | undefined>>;
  /** Creates or replaces the document under `id`. */
  put(id: string, value: T): MaybePromise<void>;
  /**
   * Compare-and-set: puts `value` (or deletes, when undefined) only if the stored document still
   * encodes as `expected` (or is absent, when undefined). True when it did. Two servers racing for
   * one change (a schedule's tick) get one true between them.
   */
  replace(id: string, expected: T | undefined, value: T | undefined): MaybePromise<boolean>;
  /** True when there was a document to delete. */
  delete(id: string): MaybePromise<boolean>;
  /** Every document, in the order their ids were first put. */
  list(): MaybePromise<T[]>;
}

export interface Records {
  readonly kind: 'memory' | 'redis';
  /** The collection `name` (letters, digits, `-`, `_`), made on first use. */
  collection<T>(name: string, codec: Codec<T>): Collection<T>;
  /** Releases connections; the documents stay where they live. */
  close(): MaybePromise<void>;
}

const COLLECTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name))
    throw new RangeError(`a collection name is 1 to 64 of [A-Za-z0-9_-], got "${name}"`);
}

/**
 * JSON, with byte arrays (a schedule's body) kept as `{"$bytes": "<base64>"}` and read back as
 * `Uint8Array`s.
 */
export function jsonCodec<T>(): Codec<T> {
  return {
    encode: (value) =>
      JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
        // The holder's own value: a Buffer has already become {type, data} by `toJSON` in `v`.
        const raw = this[k];
        return raw instanceof Uint8Array
          ? { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') }
          : v;
      }),
    decode: (text) =>
      JSON.parse(text, (_k, v: unknown) => {
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
          const o = v as Record<string, unknown>;
          if (typeof o['$bytes'] === 'string' && Object.keys(o).length === 1)
            return new Uint8Array(Buffer.from(o['$bytes'], 'base64'));
        }
        return v;
      }) as T,
  };
}

class MemoryCollection<T> implements Collection<T> {
  private readonly docs = new Map<string, string>();

  constructor(private readonly codec: Codec<T>) {}

  get(id: string): T | undefined {
    const text = this.docs.get(id);
    return text === undefined ? undefined : this.codec.decode(text);
  }

  getMany(ids: readonly string[]): Array<T | undefined> {
    return ids.map((id) => this.get(id));
  }

  put(id: string, value: T): void {
    this.docs.set(id, this.codec.encode(value));
  }

  replace(id: string, expected: T | undefined, value: T | undefined): boolean {
    const stored = this.docs.get(id);
    const want = expected === undefined ? undefined : this.codec.encode(expected);
    if (stored !== want) return false;
    if (value === undefined) this.docs.delete(id);
    else this.docs.set(id, this.codec.encode(value));
    return true;
  }

  delete(id: string): boolean {
    return this.docs.delete(id);
  }

  list(): T[] {
    return [...this.docs.values()].map((text) => this.codec.decode(text));
  }
}

/** This process's records: nothing survives a restart (as QStash's own dev server). */
export class MemoryRecords implements Records {
  readonly kind = 'memory';
  private readonly collections = new Map<string, MemoryCollection<unknown>>();

  collection<T>(name: string, codec: Codec<T>): Collection<T> {
    checkCollectionName(name);
    let c = this.collections.get(name);
    if (c === undefined) {
      c = new MemoryCollection(codec as Codec<unknown>);
      this.collections.set(name, c);
    }
    return c as MemoryCollection<T>;
  }

  close(): void {}
}
