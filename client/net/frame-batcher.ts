/**
 * Coalesces what the socket receives into one store update per animation frame: a burst of
 * batches becomes one state change, one React render and one animation plan. Frames are asked of
 * the page; a timer stands in when the page is hidden (no frames come then), so the state keeps
 * up and the queue stays short.
 */

export interface FrameScheduler {
  /** Calls `run` once, at the next frame or after `fallbackMs`, whichever comes first. */
  request(run: () => void, fallbackMs: number): () => void;
}

/** The browser's scheduler: requestAnimationFrame, with a timeout for hidden pages. */
export const browserScheduler: FrameScheduler = {
  request(run, fallbackMs) {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      run();
    };
    const frame = requestAnimationFrame(once);
    const timer = setTimeout(once, fallbackMs);
    return () => {
      done = true;
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  },
};

export interface FrameBatcher<T> {
  /** Queues items for the next frame. */
  push(items: readonly T[]): void;
  /** Drops what is queued (a snapshot is coming and replaces it). */
  clear(): void;
  /** How many items wait for the next frame. */
  readonly pending: number;
}

/** Hands `flush` everything pushed since the last frame, at most once per frame. */
export function createFrameBatcher<T>(
  flush: (items: T[]) => void,
  scheduler: FrameScheduler = browserScheduler,
  fallbackMs = 100,
): FrameBatcher<T> {
  let queue: T[] = [];
  let cancel: (() => void) | null = null;
  const run = () => {
    cancel = null;
    const items = queue;
    queue = [];
    if (items.length > 0) flush(items);
  };
  return {
    push(items) {
      for (const item of items) queue.push(item);
      cancel ??= scheduler.request(run, fallbackMs);
    },
    clear() {
      queue = [];
      cancel?.();
      cancel = null;
    },
    get pending() {
      return queue.length;
    },
  };
}
