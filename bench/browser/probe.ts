/**
 * What the browser bench runs inside the page, before the dashboard's own scripts: a
 * requestAnimationFrame loop that records frame deltas, and the `window.__batonBench` hook the
 * dashboard calls (only with `?bench`, see client/net/bench-hook.ts) after each frame's events are
 * applied. An applied event's paint is the next animation frame after it was applied: its
 * timestamp, made epoch ms with `performance.timeOrigin`, minus the event's server `at` (server
 * and browser run on one machine, with one clock).
 *
 * `installProbe` is serialized into the page, so it must not refer to anything outside itself.
 */

/** What the page measured over the window between `start()` and `stop()`. */
export interface ProbeResult {
  /** Page time the window lasted, ms. */
  windowMs: number;
  /** Milliseconds between consecutive animation frames. */
  frameDeltas: number[];
  /** Server event → paint, ms, one per applied event. */
  delays: number[];
  /** Events applied in the window. */
  events: number;
  /** `seq` of the first and last event applied in the window (-1: none). */
  firstSeq: number;
  lastSeq: number;
  /** Applied frames whose first event did not follow the previous frame's: a snapshot came between. */
  gaps: number;
  /** Long tasks (> 50 ms on the main thread) the page reported in the window. */
  longTasks: { count: number; totalMs: number; maxMs: number };
}

/** The hook as the bench sees it: the dashboard's `applied`, plus the window's controls. */
export interface Probe {
  applied(events: ReadonlyArray<{ seq: number; at: number }>): void;
  start(): void;
  stop(): ProbeResult;
  /** `seq` of the last applied event (-1: none yet); the page is live once it moves. */
  lastSeq(): number;
}

/** Installs `window.__batonBench`. Runs in the page. */
export function installProbe(): void {
  let recording = false;
  let startedAt = 0;
  let lastFrame = 0;
  let frameDeltas: number[] = [];
  let delays: number[] = [];
  let events = 0;
  let firstSeq = -1;
  let lastSeq = -1;
  let gaps = 0;
  let longTasks = { count: 0, totalMs: 0, maxMs: 0 };
  /** Server times of events applied since the last frame, waiting for their paint. */
  let unpainted: number[] = [];
  let paintAsked = false;

  const frame = (t: number) => {
    if (recording && lastFrame > 0) frameDeltas.push(t - lastFrame);
    lastFrame = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  const painted = (t: number) => {
    paintAsked = false;
    const at = performance.timeOrigin + t;
    for (const sent of unpainted) delays.push(at - sent);
    unpainted = [];
  };

  try {
    new PerformanceObserver((list) => {
      if (!recording) return;
      for (const e of list.getEntries()) {
        longTasks.count++;
        longTasks.totalMs += e.duration;
        longTasks.maxMs = Math.max(longTasks.maxMs, e.duration);
      }
    }).observe({ type: 'longtask' });
  } catch {
    // No long-task timing in this browser: the count stays 0.
  }

  const probe: Probe = {
    applied(batch) {
      const first = batch[0];
      const last = batch[batch.length - 1];
      if (first === undefined || last === undefined) return;
      if (recording) {
        if (lastSeq >= 0 && first.seq !== lastSeq + 1) gaps++;
        if (firstSeq < 0) firstSeq = first.seq;
        events += batch.length;
        for (const e of batch) unpainted.push(e.at);
        // Asked from inside this frame's callbacks, so it runs at the next frame: the paint.
        if (!paintAsked) {
          paintAsked = true;
          requestAnimationFrame(painted);
        }
      }
      lastSeq = last.seq;
    },
    start() {
      frameDeltas = [];
      delays = [];
      unpainted = [];
      events = 0;
      firstSeq = -1;
      gaps = 0;
      longTasks = { count: 0, totalMs: 0, maxMs: 0 };
      lastFrame = 0;
      startedAt = performance.now();
      recording = true;
    },
    stop() {
      recording = false;
      return {
        windowMs: performance.now() - startedAt,
        frameDeltas,
        delays,
        events,
        firstSeq,
        lastSeq: firstSeq < 0 ? -1 : lastSeq,
        gaps,
        longTasks,
      };
    },
    lastSeq: () => lastSeq,
  };
  (window as unknown as { __batonBench: Probe }).__batonBench = probe;
}

/**
 * The probe as an init script. tsx compiles this file keeping function names, which wraps inner
 * functions in a `__name(fn, "name")` helper the page does not have; a local no-op stands in.
 */
export const probeScript = `(() => { const __name = (f) => f; (${installProbe.toString()})(); })();`;
