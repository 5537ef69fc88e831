/**
 * The browser bench's load, made through Baton's QStash-compatible API as an app would make it:
 * `keys` flow-control keys of parallelism `parallelism`, each with `waitingPerKey` messages
 * waiting, kept there by topping up through `POST /v2/batch` what `GET /v2/flowControl` says has
 * drained.
 *
 * Each message goes to a simulated destination whose duration is drawn from an exponential
 * distribution (mean `meanMs`): with exponential durations completions are a steady stream from
 * the first second, instead of waves of synchronized starts. A key at its limit with waiters runs
 * `parallelism` deliveries at once, so the keys finish `keys × parallelism / meanMs` deliveries a
 * second, each about five events (accepted, waitlisted, handed-off, succeeded, delivered).
 */
import { seeded } from '../seeded';

export interface LoadOptions {
  /** Baton's base URL, e.g. http://127.0.0.1:4321 */
  base: string;
  keys: number;
  parallelism: number;
  waitingPerKey: number;
  /** Mean simulated delivery time, ms. */
  meanMs: number;
  /** How often the waitlists are read and topped up, ms. */
  topUpEveryMs?: number;
  /** Seed of the durations, so every run draws the same ones. */
  seed?: number;
}

interface FlowInfo {
  flowControlKey: string;
  waitListSize: number;
  parallelismCount: number;
}

/** What one poll of the keys found, summed over the keys. */
export interface LoadSample {
  waiting: number;
  inFlight: number;
}

/** Largest batch Baton accepts in one `POST /v2/batch`. */
const MAX_BATCH = 1000;

export class Load {
  readonly keyNames: string[];
  /** Messages published so far. */
  published = 0;
  /** One entry per top-up poll while `recording`. */
  readonly samples: LoadSample[] = [];
  recording = false;
  private readonly random: () => number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private failure: Error | null = null;

  constructor(private readonly o: LoadOptions) {
    this.keyNames = Array.from({ length: o.keys }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
    this.random = seeded(o.seed ?? 1);
  }

  /** One message's simulated duration: exponential with mean `meanMs`, cut at five means. */
  private duration(): number {
    const d = -this.o.meanMs * Math.log(1 - this.random());
    return Math.max(1, Math.min(5 * this.o.meanMs, Math.round(d)));
  }

  private async publish(counts: ReadonlyMap<string, number>): Promise<void> {
    const items: unknown[] = [];
    for (const [key, n] of counts) {
      for (let i = 0; i < n; i++) {
        items.push({
          destination: `sim://bench?duration=${this.duration()}ms`,
          headers: {
            'Upstash-Flow-Control-Key': key,
            'Upstash-Flow-Control-Value': `parallelism=${this.o.parallelism}`,
          },
          body: 'x',
        });
      }
    }
    for (let i = 0; i < items.length; i += MAX_BATCH) {
      const chunk = items.slice(i, i + MAX_BATCH);
      const res = await fetch(`${this.o.base}/v2/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chunk),
      });
      if (!res.ok) throw new Error(`POST /v2/batch: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      this.published += chunk.length;
    }
  }

  /** Fills every key: `parallelism` to run and `waitingPerKey` to wait. */
  async fill(): Promise<void> {
    const total = this.o.parallelism + this.o.waitingPerKey;
    await this.publish(new Map(this.keyNames.map((k) => [k, total])));
  }

  /** Reads the keys and publishes what each lacks of `waitingPerKey` waiting. */
  private async topUp(): Promise<void> {
    const res = await fetch(`${this.o.base}/v2/flowControl?search=bench-`);
    if (!res.ok) throw new Error(`GET /v2/flowControl: ${res.status}`);
    const infos = (await res.json()) as FlowInfo[];
    const lacking = new Map<string, number>();
    let waiting = 0;
    let inFlight = 0;
    for (const k of infos) {
      waiting += k.waitListSize;
      inFlight += k.parallelismCount;
      const missing =
        this.o.waitingPerKey - k.waitListSize + (this.o.parallelism - k.parallelismCount);
      if (missing > 0) lacking.set(k.flowControlKey, missing);
    }
    if (this.recording) this.samples.push({ waiting, inFlight });
    if (lacking.size > 0) await this.publish(lacking);
  }

  /** Tops the keys up every `topUpEveryMs` until `stop()`. */
  run(): void {
    const every = this.o.topUpEveryMs ?? 200;
    const tick = () => {
      this.timer = null;
      if (this.stopped) return;
      const t0 = performance.now();
      this.topUp().then(
        () => {
          if (!this.stopped)
            this.timer = setTimeout(tick, Math.max(0, every - (performance.now() - t0)));
        },
        (err: unknown) => {
          this.failure = err instanceof Error ? err : new Error(String(err));
        },
      );
    };
    tick();
  }

  /** Throws what stopped the top-ups, if anything did. */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
