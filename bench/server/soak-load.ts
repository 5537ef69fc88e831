/**
 * S3's load generator (soak.ts): `CLIENTS` HTTP clients in closed loops publishing to 100 keys of
 * four kinds, against credits that the polls of `GET /v2/flowControl` grant, so about 1,000
 * messages wait throughout (see soak.ts for the whole design).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Agent } from 'undici';
import { seeded } from '../seeded';

export const KEYS = 100;
/** Each key is topped up to this many waiting at every poll (100 keys: about 1,000 in all). */
const TOP_UP_TO = 11;
export const POLL_MS = 250;
const BATCH_SHARE = 0.05;
const BATCH_MAX = 25;
const DELAY_SHARE = 0.05;
const BIG_BODY_SHARE = 0.05;
const BIG_BODY_MIN = 4 * 1024;
const BIG_BODY_MAX = 64 * 1024;
/** Big bodies in one batch stay under this, well inside Baton's 1 MiB request limit. */
const BATCH_BODY_BUDGET = 512 * 1024;

/**
 * The four kinds of key, 25 of each (key i is kind i % 4). Capacity, roughly: A 5/s, B 5/s (less
 * retries), C 5/s (its rate), D 3/s (its rate, in bursts) per key: about 450 deliveries/s in all.
 */
const KINDS = [
  {
    flow: 'parallelism=1',
    destination: 'sim://soak-a?duration=200ms&jitter=80ms',
    headers: {},
  },
  {
    flow: 'parallelism=2',
    destination: 'sim://soak-b?duration=400ms&jitter=150ms&fail=0.05',
    headers: { 'upstash-retries': '1', 'upstash-retry-delay': '1000' },
  },
  {
    flow: 'parallelism=5, rate=5, period=1s',
    destination: 'sim://soak-c?duration=50ms&jitter=20ms',
    headers: {},
  },
  {
    flow: 'parallelism=1, rate=30, period=10s',
    destination: 'sim://soak-d?duration=50ms&jitter=20ms',
    headers: {},
  },
] as const;

interface FlowInfo {
  flowControlKey: string;
  waitListSize: number;
  parallelismCount: number;
}

/** The load generator: credits, the polls that grant them, and the clients that spend them. */
export class Load {
  readonly names = Array.from({ length: KEYS }, (_, i) => `soak-${String(i).padStart(3, '0')}`);
  private readonly index = new Map(this.names.map((n, i) => [n, i]));
  private readonly credit = new Int32Array(KEYS);
  /** Publishes sent and not yet answered, per key. */
  private readonly unanswered = new Int32Array(KEYS);
  /** Due times of delayed messages, per key (performance.now() ms). */
  private readonly delayedDue: number[][] = Array.from({ length: KEYS }, () => []);
  private cursor = 0;
  private granted: () => void = () => {};
  private grant = new Promise<void>((r) => (this.granted = r));
  private stopped = false;
  private readonly random = seeded(7);
  private readonly bigBody = randomBytes(BIG_BODY_MAX).toString('base64').slice(0, BIG_BODY_MAX);
  private sequence = 0;

  // What is measured; `mark()` clears it at the start of the window.
  recording = false;
  accepted = 0;
  requests = 0;
  bigBodies = 0;
  delayed = 0;
  readonly singleMs: number[] = [];
  readonly batchMs: number[] = [];
  readonly samples: Array<{ waiting: number; inFlight: number }> = [];
  errors = 0;
  firstError = '';

  constructor(
    private readonly base: string,
    private readonly agent: Agent,
  ) {}

  mark(): void {
    this.recording = true;
    this.accepted = 0;
    this.requests = 0;
    this.bigBodies = 0;
    this.delayed = 0;
    this.singleMs.length = 0;
    this.batchMs.length = 0;
    this.samples.length = 0;
  }

  /** Reads every key once: records the totals and grants each key the credits it lacks. */
  async poll(): Promise<{ waiting: number; inFlight: number }> {
    const res = await request(`${this.base}/v2/flowControl?search=soak-`, {
      dispatcher: this.agent,
    });
    if (res.statusCode !== 200) throw new Error(`GET /v2/flowControl: ${res.statusCode}`);
    const infos = (await res.body.json()) as FlowInfo[];
    const waitingOf = new Int32Array(KEYS);
    let waiting = 0;
    let inFlight = 0;
    for (const k of infos) {
      const i = this.index.get(k.flowControlKey);
      if (i === undefined) continue;
      waitingOf[i] = k.waitListSize;
      waiting += k.waitListSize;
      inFlight += k.parallelismCount;
    }
    if (this.recording) this.samples.push({ waiting, inFlight });
    if (!this.stopped) {
      const now = performance.now();
      for (let i = 0; i < KEYS; i++) {
        const due = this.delayedDue[i]!;
        while (due.length > 0 && due[0]! <= now) due.shift();
        const lack = TOP_UP_TO - waitingOf[i]! - due.length - this.unanswered[i]!;
        this.credit[i] = Math.max(0, lack);
      }
      const g = this.granted;
      this.grant = new Promise<void>((r) => (this.granted = r));
      g();
    }
    return { waiting, inFlight };
  }

  /**
   * Fills every key at once, through `/v2/batch` of up to 1,000: `TOP_UP_TO` to wait and a few to
   * start, so the keys are at their level from the first second instead of after a ramp.
   */
  async fill(): Promise<void> {
    const items = this.names.flatMap((_, i) =>
      Array.from({ length: TOP_UP_TO + 5 }, () => this.message(i, false)),
    );
    for (let from = 0; from < items.length; from += 1000) {
      const res = await request(`${this.base}/v2/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items.slice(from, from + 1000)),
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`fill: ${res.statusCode}: ${text}`);
    }
  }

  /** Polls every POLL_MS until `stop()`. */
  async pollLoop(): Promise<void> {
    while (!this.stopped) {
      const t0 = performance.now();
      await this.poll();
      await sleep(Math.max(0, POLL_MS - (performance.now() - t0)));
    }
  }

  /** The next key with a credit (round robin), its credit spent; -1 when none has one. */
  private take(): number {
    for (let n = 0; n < KEYS; n++) {
      const i = (this.cursor + n) % KEYS;
      if (this.credit[i]! > 0) {
        this.credit[i]!--;
        this.cursor = (i + 1) % KEYS;
        return i;
      }
    }
    return -1;
  }

  /** One message for key `i`: its headers and body, and whether it is delayed or big. */
  private message(i: number, allowBig: boolean) {
    const kind = KINDS[i % KINDS.length]!;
    const headers: Record<string, string> = {
      'upstash-flow-control-key': this.names[i]!,
      'upstash-flow-control-value': kind.flow,
      ...kind.headers,
    };
    if (this.random() < DELAY_SHARE) {
      const s = 1 + Math.floor(this.random() * 3);
      headers['upstash-delay'] = `${s}s`;
      this.delayedDue[i]!.push(performance.now() + s * 1000);
      if (this.recording) this.delayed++;
    }
    let body = `{"n":${this.sequence++}}`;
    if (allowBig && this.random() < BIG_BODY_SHARE) {
      const size = BIG_BODY_MIN + Math.floor(this.random() * (BIG_BODY_MAX - BIG_BODY_MIN));
      body = this.bigBody.slice(0, size);
      if (this.recording) this.bigBodies++;
    }
    return { destination: kind.destination, headers, body };
  }

  private failed(what: string): void {
    this.errors++;
    if (this.firstError === '') this.firstError = what;
  }

  /** One request that publishes `messages`; its time goes to `times` while recording. */
  private async post(
    what: string,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array,
    messages: number,
    times: number[],
  ): Promise<void> {
    const t0 = performance.now();
    const res = await request(`${this.base}${path}`, {
      method: 'POST',
      headers,
      body,
      dispatcher: this.agent,
    });
    const text = await res.body.text();
    const ms = performance.now() - t0;
    if (res.statusCode >= 300) return this.failed(`${what} ${res.statusCode}: ${text}`);
    if (this.recording) {
      times.push(ms);
      this.accepted += messages;
      this.requests++;
    }
  }

  private async publishOne(i: number): Promise<void> {
    const m = this.message(i, true);
    this.unanswered[i]!++;
    try {
      await this.post(
        'publish',
        `/v2/publish/${m.destination}`,
        m.headers,
        m.body,
        1,
        this.singleMs,
      );
    } finally {
      this.unanswered[i]!--;
    }
  }

  private async publishBatch(first: number): Promise<void> {
    const keys = [first];
    while (keys.length < BATCH_MAX) {
      const i = this.take();
      if (i < 0) break;
      keys.push(i);
    }
    let bodyBytes = 0;
    const items = keys.map((i) => {
      const m = this.message(i, bodyBytes < BATCH_BODY_BUDGET - BIG_BODY_MAX);
      bodyBytes += m.body.length;
      return m;
    });
    for (const i of keys) this.unanswered[i]!++;
    try {
      const headers = { 'content-type': 'application/json' };
      await this.post(
        'batch',
        '/v2/batch',
        headers,
        JSON.stringify(items),
        items.length,
        this.batchMs,
      );
    } finally {
      for (const i of keys) this.unanswered[i]!--;
    }
  }

  /** One client: publish against credits until `stop()`, waiting for the next poll when none. */
  async client(): Promise<void> {
    while (!this.stopped) {
      const i = this.take();
      if (i < 0) {
        await this.grant;
        continue;
      }
      try {
        if (this.random() < BATCH_SHARE) await this.publishBatch(i);
        else await this.publishOne(i);
      } catch (err) {
        this.failed(String(err));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.recording = false;
    this.granted();
  }
}
