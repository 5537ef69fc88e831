/**
 * Issue 10, "Every frame true": an in-page checker that looks at every animation frame the page
 * paints and says whether each key view on it tells the key's state as its header does
 * ("N in flight", "N waiting", "parallelism P"):
 * - the diagram: one visible circle-with-token per request in flight, one visible, numbered
 *   circle per waiter in order, no two waiters overlapping, and the "+N more" notes adding up;
 * - the key's overview row, when it is rendered: In flight "N/P" and Waiting "N";
 * - the charts' subtitles: "N of P" (in flight vs limit) and "N waiting" (waitlist size).
 *
 * Shared by the browser tests (e2e/frame-truth.spec.ts) and the browser benchmark (bench/browser),
 * so both hold the page to one definition of a true frame. `installFrameCheck` is serialized into
 * the page, so it must not refer to anything outside itself; `frameCheckScript` is it as a script.
 */

/** One key's frames, as the checker saw them. */
export interface KeyFrames {
  frames: number;
  maxActive: number;
  maxWaiting: number;
  /** Frames in which its overview row was rendered, and so compared. */
  rowsCompared: number;
  /** Frames in which its in-flight chart was compared. */
  chartsCompared: number;
}

/** What the checker saw between `start()` and `stop()`. */
export interface FrameCheckResult {
  /** Frames checked: those with at least one key view on the page. */
  frames: number;
  /** Frames in which some key view told something other than its header. */
  bad: number;
  /** Bad frames by what was wrong in them (numbers and names replaced by #). */
  kinds: Record<string, number>;
  /** The first few bad frames, in words. */
  examples: string[];
  /** Per key view seen. */
  keys: Record<string, KeyFrames>;
  /** Key frames (of every key) whose overview row was rendered, and so compared. */
  rowsCompared: number;
  /** Key frames whose in-flight chart was compared. */
  chartsCompared: number;
}

/** The checker as the page holds it, at `window.__batonFrameCheck`. */
export interface FrameCheck {
  /** Starts checking every animation frame (again from zero). */
  start(): void;
  stop(): FrameCheckResult;
}

/** Installs `window.__batonFrameCheck`. Runs in the page. */
export function installFrameCheck(): void {
  let running = false;
  /** A frame is asked for: a stop and a start within one frame must not make two loops. */
  let asked = false;
  let result: FrameCheckResult;
  const reset = (): FrameCheckResult => ({
    frames: 0,
    bad: 0,
    kinds: {},
    examples: [],
    keys: {},
    rowsCompared: 0,
    chartsCompared: 0,
  });
  result = reset();

  /** Painted opacity of each element this frame: its own times its ancestors', 0 when hidden. */
  let opacities = new Map<Element, number>();
  const opacity = (el: Element | null): number => {
    if (el === null || el === document.body || el === document.documentElement) return 1;
    const known = opacities.get(el);
    if (known !== undefined) return known;
    const cs = getComputedStyle(el);
    const own = cs.display === 'none' || cs.visibility === 'hidden' ? 0 : Number(cs.opacity);
    const value = own === 0 ? 0 : own * opacity(el.parentElement);
    opacities.set(el, value);
    return value;
  };
  const visible = (el: Element | null) => {
    if (el === null) return false;
    const b = el.getBoundingClientRect();
    return b.width > 1 && b.height > 1 && opacity(el) >= 0.5;
  };
  const text = (el: Element | null | undefined) => el?.textContent?.trim() ?? '';
  const items = (root: Element, list: string) => [
    ...root.querySelectorAll<SVGGElement>(
      `[role="list"][aria-label="${list}"] > [role="listitem"]`,
    ),
  ];
  /** What the key's header says: counts, and the limit ("∞" for none); NaN where it says none. */
  const header = (root: Element) => {
    let inFlight = NaN;
    let waiting = NaN;
    let limit = '';
    for (const li of root.querySelectorAll('ul[aria-label="Limits"] > li')) {
      const t = text(li);
      const count = /^(\d+) (in flight|waiting)$/.exec(t);
      if (count?.[2] === 'in flight') inFlight = Number(count[1]);
      if (count?.[2] === 'waiting') waiting = Number(count[1]);
      const p = /^parallelism (\d+|unlimited)/.exec(t);
      if (p !== null) limit = p[1] === 'unlimited' ? '∞' : (p[1] ?? '');
    }
    return { inFlight, waiting, limit };
  };
  const moreCount = (root: Element, what: string) => {
    for (const t of root.querySelectorAll('svg.diagram text.more')) {
      const m = new RegExp(`^\\+(\\d+) more ${what}$`).exec(text(t));
      if (m !== null) return Number(m[1]);
    }
    return 0;
  };
  /** The overview's rendered rows by key: their In flight and Waiting cells' text. */
  const overviewRows = () => {
    const rows = new Map<string, { inFlight: string; waiting: string }>();
    for (const row of document.querySelectorAll('[role="table"][aria-label="Keys"] [role="row"]')) {
      const name = row.querySelector('[role="cell"] button')?.getAttribute('aria-label');
      const cells = row.querySelectorAll(':scope > [role="cell"]');
      if (name == null || cells.length < 3) continue;
      rows.set(name, { inFlight: text(cells[1]), waiting: text(cells[2]) });
    }
    return rows;
  };
  const chartSummary = (root: Element, title: string) => {
    for (const figure of root.querySelectorAll('figure.chart')) {
      if (text(figure.querySelector('.chart-title')) === title)
        return text(figure.querySelector('.chart-summary'));
    }
    return null;
  };

  /** What is wrong in one key view this frame (empty: nothing). */
  const checkKey = (
    root: Element,
    name: string,
    rows: Map<string, { inFlight: string; waiting: string }>,
  ) => {
    const problems: string[] = [];
    const { inFlight, waiting, limit } = header(root);
    const k = (result.keys[name] ??= {
      frames: 0,
      maxActive: 0,
      maxWaiting: 0,
      rowsCompared: 0,
      chartsCompared: 0,
    });
    k.frames++;
    if (inFlight > k.maxActive) k.maxActive = inFlight;
    if (waiting > k.maxWaiting) k.maxWaiting = waiting;

    const active = items(root, 'Active Requests');
    const holders = active.filter(
      (a) => visible(a.querySelector(':scope > g')) && visible(a.querySelector(':scope > g + g')),
    ).length;
    if (holders + moreCount(root, 'active') !== inFlight)
      problems.push(`${holders} visible holders (+more) vs "${inFlight} in flight"`);

    const waiters = items(root, 'Waitlist');
    const circles = waiters.map((el) => el.querySelector(':scope > g'));
    const seen = circles.filter((c) => visible(c)).length;
    if (seen + moreCount(root, 'waiting') !== waiting)
      problems.push(`${seen} visible waiters (+more) vs "${waiting} waiting"`);
    waiters.forEach((el, i) => {
      const label = el.querySelector('text.position');
      if (text(label) !== String(i + 1) || !visible(label))
        problems.push(`waiter ${i + 1} shows no number "${text(label)}"`);
    });
    const boxes = circles.map((c) => (c === null ? null : c.getBoundingClientRect()));
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        if (a == null || b == null) continue;
        const dx = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const dy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (dx > 1 && dy > 1) problems.push(`waiters ${i + 1} and ${j + 1} overlap`);
      }
    }

    const row = rows.get(name);
    if (row !== undefined) {
      result.rowsCompared++;
      k.rowsCompared++;
      if (row.inFlight !== `${inFlight}/${limit}`)
        problems.push(`overview In flight "${row.inFlight}" vs header ${inFlight}/${limit}`);
      if (row.waiting !== String(waiting))
        problems.push(`overview Waiting "${row.waiting}" vs header ${waiting} waiting`);
    }
    const inFlightChart = chartSummary(root, 'In flight vs limit');
    if (inFlightChart !== null) {
      result.chartsCompared++;
      k.chartsCompared++;
      if (inFlightChart !== `${inFlight} of ${limit}`)
        problems.push(`chart "${inFlightChart}" vs header ${inFlight} of ${limit}`);
    }
    const waitingChart = chartSummary(root, 'Waitlist size');
    if (waitingChart !== null && waitingChart !== `${waiting} waiting`)
      problems.push(`chart "${waitingChart}" vs header ${waiting} waiting`);

    return problems;
  };

  const tick = () => {
    asked = false;
    if (!running) return;
    opacities = new Map();
    const sections = [...document.querySelectorAll('section[aria-label^="key "]')];
    if (sections.length > 0) {
      const rows = overviewRows();
      const problems: string[] = [];
      for (const root of sections) {
        const name = (root.getAttribute('aria-label') ?? '').slice('key '.length);
        for (const p of checkKey(root, name, rows)) problems.push(`${name}: ${p}`);
      }
      result.frames++;
      if (problems.length > 0) {
        result.bad++;
        const kinds = new Set(
          problems.map((p) => p.replace(/^[^:]*: /, '').replace(/[\d"∞]+/g, '#')),
        );
        for (const kind of kinds) result.kinds[kind] = (result.kinds[kind] ?? 0) + 1;
        if (result.examples.length < 8)
          result.examples.push(`frame ${result.frames}: ${problems.join('; ')}`);
      }
    }
    asked = true;
    requestAnimationFrame(tick);
  };

  const check: FrameCheck = {
    start() {
      result = reset();
      running = true;
      if (!asked) {
        asked = true;
        requestAnimationFrame(tick);
      }
    },
    stop() {
      running = false;
      return result;
    },
  };
  (window as unknown as { __batonFrameCheck: FrameCheck }).__batonFrameCheck = check;
}

/**
 * The checker as a script, for `page.evaluate` or `page.addInitScript`. tsx compiles this file
 * keeping function names, which wraps inner functions in a `__name(fn, "name")` helper the page
 * does not have; a local no-op stands in (as in bench/browser/probe.ts).
 */
export const frameCheckScript = `(() => { const __name = (f) => f; (${installFrameCheck.toString()})(); })();`;

// These run in the page, so each stands alone.
/** Starts the installed checker (page.evaluate). */
export const startFrameCheck = () =>
  (window as unknown as { __batonFrameCheck: FrameCheck }).__batonFrameCheck.start();
/** Stops the installed checker and returns what it saw (page.evaluate). */
export const stopFrameCheck = () =>
  (window as unknown as { __batonFrameCheck: FrameCheck }).__batonFrameCheck.stop();
