/**
 * msgpack between the store and its scripts. A decoder for what Redis's Lua `cmsgpack.pack`
 * writes: nil, booleans, integers, floats, strings, binaries, arrays and maps (no extension
 * types); the scripts pack events with it rather than `cjson.encode`, which formats every number
 * with printf and costs Redis several times as much. Strings come out as JS strings (UTF-8), maps
 * as plain objects, nil as null. And an encoder of a list of strings (`packStrings`), for a batch
 * of commands sent as one argument.
 */

/** Strings of at most this many bytes are looked up in the cache (ASCII only). */
const SHORT = 32;
const CACHE_SIZE = 4096;
/** Recent short ASCII strings by a hash of their bytes (a slot holds the last one it saw). */
const cache = new Array<string | undefined>(CACHE_SIZE);

/** Reads one value from `buf` at `offset`; `next` is where the one after it starts. */
export class MsgpackReader {
  offset: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  /** Whether every value has been read. */
  get done(): boolean {
    return this.offset >= this.buf.length;
  }

  read(): unknown {
    const buf = this.buf;
    const b = buf[this.offset++];
    if (b === undefined) throw new RangeError('msgpack: unexpected end');
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(b & 0x0f);
    if (b < 0xa0) return this.array(b & 0x0f);
    if (b < 0xc0) return this.str(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    let v: unknown;
    const o = this.offset;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        this.offset = o + 1;
        return this.bin(buf[o]!);
      case 0xc5:
        this.offset = o + 2;
        return this.bin(buf.readUInt16BE(o));
      case 0xc6:
        this.offset = o + 4;
        return this.bin(buf.readUInt32BE(o));
      case 0xca:
        v = buf.readFloatBE(o);
        this.offset = o + 4;
        return v;
      case 0xcb:
        v = buf.readDoubleBE(o);
        this.offset = o + 8;
        return v;
      case 0xcc:
        this.offset = o + 1;
        return buf[o];
      case 0xcd:
        this.offset = o + 2;
        return buf.readUInt16BE(o);
      case 0xce:
        this.offset = o + 4;
        return buf.readUInt32BE(o);
      case 0xcf:
        this.offset = o + 8;
        return buf.readUInt32BE(o) * 0x100000000 + buf.readUInt32BE(o + 4);
      case 0xd0:
        this.offset = o + 1;
        return buf.readInt8(o);
      case 0xd1:
        this.offset = o + 2;
        return buf.readInt16BE(o);
      case 0xd2:
        this.offset = o + 4;
        return buf.readInt32BE(o);
      case 0xd3:
        this.offset = o + 8;
        return buf.readInt32BE(o) * 0x100000000 + buf.readUInt32BE(o + 4);
      case 0xd9:
        this.offset = o + 1;
        return this.str(buf[o]!);
      case 0xda:
        this.offset = o + 2;
        return this.str(buf.readUInt16BE(o));
      case 0xdb:
        this.offset = o + 4;
        return this.str(buf.readUInt32BE(o));
      case 0xdc:
        this.offset = o + 2;
        return this.array(buf.readUInt16BE(o));
      case 0xdd:
        this.offset = o + 4;
        return this.array(buf.readUInt32BE(o));
      case 0xde:
        this.offset = o + 2;
        return this.map(buf.readUInt16BE(o));
      case 0xdf:
        this.offset = o + 4;
        return this.map(buf.readUInt32BE(o));
      default:
        throw new RangeError(`msgpack: unsupported type 0x${b.toString(16)}`);
    }
  }

  /** Reads an array's header: how many values follow (an empty map counts as an empty array). */
  arrayLength(): number {
    const buf = this.buf;
    const b = buf[this.offset++];
    if (b === undefined) throw new RangeError('msgpack: unexpected end');
    if (b >= 0x90 && b < 0xa0) return b & 0x0f;
    const o = this.offset;
    if (b === 0xdc) {
      this.offset = o + 2;
      return buf.readUInt16BE(o);
    }
    if (b === 0xdd) {
      this.offset = o + 4;
      return buf.readUInt32BE(o);
    }
    if (b === 0x80) return 0;
    throw new RangeError(`msgpack: expected an array, got 0x${b.toString(16)}`);
  }

  /**
   * Reads a string or binary as its bytes (a view of the buffer, not a copy): for values that
   * are bytes, not text (a body, values packed again). Nil and false (Lua's absent) give null.
   */
  bytes(): Buffer | null {
    const buf = this.buf;
    const b = buf[this.offset++];
    if (b === undefined) throw new RangeError('msgpack: unexpected end');
    let n: number;
    const o = this.offset;
    if (b >= 0xa0 && b < 0xc0) {
      n = b & 0x1f;
    } else if (b === 0xd9 || b === 0xc4) {
      n = buf[o]!;
      this.offset = o + 1;
    } else if (b === 0xda || b === 0xc5) {
      n = buf.readUInt16BE(o);
      this.offset = o + 2;
    } else if (b === 0xdb || b === 0xc6) {
      n = buf.readUInt32BE(o);
      this.offset = o + 4;
    } else if (b === 0xc0 || b === 0xc2) {
      return null;
    } else throw new RangeError(`msgpack: expected bytes, got 0x${b.toString(16)}`);
    const start = this.offset;
    if (start + n > buf.length) throw new RangeError('msgpack: unexpected end');
    this.offset = start + n;
    return buf.subarray(start, start + n);
  }

  private array(n: number): unknown[] {
    const a = new Array<unknown>(n);
    for (let i = 0; i < n; i++) a[i] = this.read();
    return a;
  }

  private map(n: number): Record<string, unknown> {
    const m: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.read();
      m[typeof k === 'string' ? k : String(k)] = this.read();
    }
    return m;
  }

  private str(n: number): string {
    const buf = this.buf;
    const start = this.offset;
    const end = start + n;
    if (end > buf.length) throw new RangeError('msgpack: unexpected end');
    this.offset = end;
    if (n > SHORT) return buf.toString('utf8', start, end);
    // Short strings (field names, event types, keys, most ids) repeat: one from the cache when
    // its bytes match, without making a new string.
    let h = n;
    for (let i = start; i < end; i++) h = (Math.imul(h, 31) + buf[i]!) | 0;
    const slot = h & (CACHE_SIZE - 1);
    const hit = cache[slot];
    if (hit !== undefined && hit.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (hit.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit;
    }
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return buf.toString('utf8', start, end);
      s += String.fromCharCode(c);
    }
    cache[slot] = s;
    return s;
  }

  private bin(n: number): Buffer {
    const start = this.offset;
    this.offset = start + n;
    return Buffer.from(this.buf.subarray(start, this.offset));
  }
}

/** Decodes one msgpack value. */
export function unpack(buf: Buffer): unknown {
  return new MsgpackReader(buf).read();
}

/**
 * Writes one msgpack array of strings (numbers as their decimal text, Buffers as their bytes), for
 * `cmsgpack.unpack` in a script: what the script reads is what the same values given as
 * arguments would have been. One argument instead of hundreds, written in one pass into a buffer
 * kept from one array to the next; `done` copies the array out (small ones from Node's pool).
 */
export class StringsWriter {
  private static scratch = Buffer.allocUnsafe(64 * 1024);
  private buf = StringsWriter.scratch;
  private o = 0;

  /** Starts an array of `n` values. */
  constructor(n: number) {
    const buf = this.buf;
    if (n < 16) {
      buf[0] = 0x90 | n;
      this.o = 1;
    } else if (n < 0x10000) {
      buf[0] = 0xdc;
      buf.writeUInt16BE(n, 1);
      this.o = 3;
    } else {
      buf[0] = 0xdd;
      buf.writeUInt32BE(n, 1);
      this.o = 5;
    }
  }

  /** Room for `n` more bytes. */
  private room(n: number): Buffer {
    if (this.o + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.o + n));
      this.buf.copy(bigger, 0, 0, this.o);
      this.buf = bigger;
      if (bigger.length <= 1024 * 1024) StringsWriter.scratch = bigger;
    }
    return this.buf;
  }

  /** A number, as its decimal text. */
  number(v: number): void {
    this.string(String(v));
  }

  bytes(v: Buffer): void {
    const buf = this.room(5 + v.length);
    const o = this.o;
    buf[o] = 0xdb;
    buf.writeUInt32BE(v.length, o + 1);
    v.copy(buf, o + 5);
    this.o = o + 5 + v.length;
  }

  string(s: string): void {
    const len = s.length;
    const buf = this.room(5 + len * 3);
    const o = this.o;
    if (len * 3 < 256) {
      // str8; short ASCII strings (most arguments) copied here, without a call into C++.
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[o + 2 + i] = c;
      }
      const written = i === len ? len : buf.write(s, o + 2, 'utf8');
      buf[o] = 0xd9;
      buf[o + 1] = written;
      this.o = o + 2 + written;
    } else {
      const written = buf.write(s, o + 5, 'utf8');
      buf[o] = 0xdb;
      buf.writeUInt32BE(written, o + 1);
      this.o = o + 5 + written;
    }
  }

  value(v: string | number | Buffer): void {
    if (typeof v === 'string') this.string(v);
    else if (typeof v === 'number') this.number(v);
    else this.bytes(v);
  }

  /** The array, in a Buffer of its own. */
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.o));
  }
}

/** Packs a list as one msgpack array of strings (see StringsWriter). */
export function packStrings(values: readonly (string | number | Buffer)[]): Buffer {
  const w = new StringsWriter(values.length);
  for (const v of values) w.value(v);
  return w.done();
}
