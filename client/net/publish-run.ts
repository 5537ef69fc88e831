/**
 * Sends a planned run of messages through the public API: a burst as `/v2/batch` requests (so
 * they arrive together, in order), anything paced as single publishes at their offsets.
 */
import { publish, publishBatch, type PublishOptions } from './api';

export interface RunProgress {
  sent: number;
  total: number;
  /** The ids of the messages sent so far, in order (the page follows them by id). */
  ids: readonly string[];
}

export interface PublishRun {
  /** Stops sending; what was sent stays sent. */
  cancel(): void;
  /** Resolves with how many were sent, their ids, and the error that stopped the run, if one did. */
  done: Promise<{ sent: number; ids: readonly string[]; error?: Error }>;
}

const BATCH = 100;

/** Starts sending `offsets.length` messages to `destination`; `onProgress` follows each send. */
export function startPublishRun(
  destination: string,
  options: PublishOptions,
  offsets: readonly number[],
  onProgress: (p: RunProgress) => void,
): PublishRun {
  let cancelled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const total = offsets.length;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers['Upstash-Flow-Control-Key'] = options.key;
  if (options.value !== undefined) headers['Upstash-Flow-Control-Value'] = options.value;

  async function run(): Promise<{ sent: number; ids: readonly string[]; error?: Error }> {
    let sent = 0;
    const ids: string[] = [];
    const started = Date.now();
    try {
      while (sent < total && !cancelled) {
        const due = offsets[sent]!;
        const wait = started + due - Date.now();
        if (wait > 0) await sleep(wait);
        if (cancelled) break;
        // Everything due now goes in one request, in order.
        let n = 0;
        while (sent + n < total && n < BATCH && offsets[sent + n]! <= Date.now() - started) n++;
        if (n <= 1) ids.push((await publish(destination, options)).messageId);
        else
          for (const r of await publishBatch(
            Array.from({ length: n }, () => ({ destination, headers })),
          ))
            ids.push(r.messageId);
        sent += Math.max(1, n);
        onProgress({ sent, total, ids: ids.slice() });
      }
      return { sent, ids };
    } catch (err) {
      return { sent, ids, error: err as Error };
    }
  }

  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      wake?.();
    },
    done: run(),
  };
}
