import { Agent, request, type Dispatcher } from 'undici';
import type { AttemptResult } from '../../shared/engine/types';
import { ms } from '../../shared/engine/units';
import type { Clock, Deliverer, Delivery } from '../flow/types';
import { retryAfterMs } from './retry-after';
import { createDeliverySigner, type DeliverySigner } from './signature';

const EMPTY = Buffer.alloc(0);

/** How much of a destination's answer is kept (for callbacks and the message log). */
const MAX_RESPONSE_BYTES = 256 * 1024;

export interface HttpDelivererOptions {
  clock: Clock;
  /** The current signing key; deliveries carry an `Upstash-Signature` made with it. */
  signingKey: string;
  /** Used when a message sets no `Upstash-Timeout`. */
  defaultTimeoutMs: number;
  dispatcher?: Dispatcher;
}

/** What a destination answered, beyond success or failure (callbacks need it). */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  /** The answer's bytes, up to `MAX_RESPONSE_BYTES`. */
  body: Buffer;
}

/**
 * Delivers to real http(s) destinations the way QStash does: the message's method, body, content
 * type and forwarded headers, plus `Upstash-Message-Id`, `Upstash-Retried`, `User-Agent:
 * Upstash-QStash` and `Upstash-Signature`. The attempt (and its token) lasts until the response or
 * the timeout. A failure's retry delay comes from `Retry-After` (and kin), else the message's
 * retry-delay expression, else the engine's default backoff.
 */
export class HttpDeliverer implements Deliverer {
  private readonly dispatcher: Dispatcher;
  private readonly sign: DeliverySigner;

  constructor(
    private readonly options: HttpDelivererOptions,
    private readonly onAnswer?: (delivery: Delivery, answer: HttpAnswer) => void,
  ) {
    this.dispatcher =
      options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 1024 });
    this.sign = createDeliverySigner(options.signingKey);
  }

  async deliver(delivery: Delivery): Promise<AttemptResult> {
    const { payload } = delivery;
    const now = this.options.clock.now();
    const body =
      payload.body === undefined
        ? EMPTY
        : Buffer.from(payload.body.buffer, payload.body.byteOffset, payload.body.byteLength);
    const headers: Record<string, string> = {
      ...payload.headers,
      'upstash-message-id': delivery.id,
      'upstash-retried': String(delivery.attempt),
      'user-agent': 'Upstash-QStash',
      'upstash-signature': this.sign(payload.destination, body, now),
    };
    const timeout = payload.timeoutMs ?? this.options.defaultTimeoutMs;
    // A timer cleared when the attempt ends, rather than AbortSignal.timeout's, which stays armed
    // until it fires or its signal is collected (a weak reference and a finalizer per delivery,
    // up to some 150,000 live at 5,000 deliveries/s and 30 s), at a cost to garbage collection.
    const abort = new AbortController();
    const timer = setTimeout(timedOut, timeout, abort);
    timer.unref();
    try {
      const res = await request(payload.destination, {
        method: payload.method as Dispatcher.HttpMethod,
        headers,
        body: payload.method === 'GET' || payload.method === 'HEAD' ? undefined : body,
        dispatcher: this.dispatcher,
        signal: abort.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const answer = await readCapped(res.body);
      const answerHeaders = flatHeaders(res.headers);
      this.onAnswer?.(delivery, { status: res.statusCode, headers: answerHeaders, body: answer });
      if (res.statusCode >= 200 && res.statusCode < 300)
        return { ok: true, status: res.statusCode };
      const nonRetryable =
        res.statusCode === 489 &&
        answerHeaders['upstash-nonretryable-error']?.toLowerCase() === 'true';
      return {
        ok: false,
        status: res.statusCode,
        error: answer.subarray(0, 200).toString('utf8') || `status ${res.statusCode}`,
        nonRetryable,
        ...retryAfter(retryAfterMs(res.headers, this.options.clock.now())),
      };
    } catch (err) {
      const e = err as Error;
      const error =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `timed out after ${timeout} ms`
          : e.message;
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes its connections; a delivery still in flight is aborted (the stop has given up on it). */
  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}

/** Ends an attempt at its timeout, as AbortSignal.timeout would. */
function timedOut(abort: AbortController): void {
  abort.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

async function readCapped(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (size < MAX_RESPONSE_BYTES) chunks.push(b.subarray(0, MAX_RESPONSE_BYTES - size));
    size += b.length;
  }
  return Buffer.concat(chunks);
}

/** The delay the destination asked for (`Retry-After` and kin), when it asked. */
function retryAfter(delayMs: number | null): { retryDelayMs?: ReturnType<typeof ms> } {
  return delayMs === null ? {} : { retryDelayMs: ms(delayMs) };
}
