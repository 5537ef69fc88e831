import { expect, test, type Page } from '@playwright/test';
import { keyRegion, openDashboard, publish, screenshotPath, uniqueKey } from './helpers';

/**
 * Issue 10, "Every frame true": whatever the diagram animates, every frame it paints tells the
 * key's state as the header does. Sampled on every animation frame in the page:
 * - one visible circle-with-token per request in flight ("N in flight");
 * - one visible, numbered circle per waiter, in order, plus the "+N more waiting" note, adding
 *   up to "N waiting";
 * - no two waiter circles overlapping.
 */

interface Samples {
  frames: number;
  bad: number;
  maxActive: number;
  maxWaiting: number;
  examples: string[];
  /** Bad frames by what was wrong in them. */
  kinds: Record<string, number>;
}

type SamplerWindow = { frameTruth: Samples; frameTruthStop: boolean };

/** Starts checking every frame of key `name`'s picture against its header. */
async function startSampling(page: Page, name: string) {
  await page.evaluate((key) => {
    const w = window as unknown as SamplerWindow;
    w.frameTruth = { frames: 0, bad: 0, maxActive: 0, maxWaiting: 0, examples: [], kinds: {} };
    w.frameTruthStop = false;
    const section = () => document.querySelector(`section[aria-label="key ${key}"]`);
    const items = (root: Element, list: string) => [
      ...root.querySelectorAll<SVGGElement>(
        `[role="list"][aria-label="${list}"] > [role="listitem"]`,
      ),
    ];
    /** The opacity it is painted with: its own times its ancestors', zero when not rendered. */
    const shown = (el: Element): number => {
      let opacity = 1;
      for (let e: Element | null = el; e !== null && e !== document.body; e = e.parentElement) {
        const cs = getComputedStyle(e);
        if (cs.display === 'none' || cs.visibility === 'hidden') return 0;
        opacity *= Number(cs.opacity);
      }
      return opacity;
    };
    const boxOf = (el: Element) => el.getBoundingClientRect();
    const visible = (el: Element | null) => {
      if (el === null) return false;
      const b = boxOf(el);
      return b.width > 1 && b.height > 1 && shown(el) >= 0.5;
    };
    const headerCount = (root: Element, what: string) => {
      for (const li of root.querySelectorAll('ul[aria-label="Limits"] > li')) {
        const m = new RegExp(`^(\\d+) ${what}$`).exec(li.textContent?.trim() ?? '');
        if (m !== null) return Number(m[1]);
      }
      return NaN;
    };
    const moreCount = (root: Element, what: string) => {
      for (const t of root.querySelectorAll('svg.diagram text.more')) {
        const m = new RegExp(`^\\+(\\d+) more ${what}$`).exec(t.textContent?.trim() ?? '');
        if (m !== null) return Number(m[1]);
      }
      return 0;
    };

    const tick = () => {
      if (w.frameTruthStop) return;
      const root = section();
      if (root !== null) {
        const s = w.frameTruth;
        s.frames++;
        const problems: string[] = [];
        const inFlight = headerCount(root, 'in flight');
        const waiting = headerCount(root, 'waiting');

        const active = items(root, 'Active Requests');
        const holders = active.filter(
          (a) =>
            visible(a.querySelector(':scope > g')) && visible(a.querySelector(':scope > g + g')),
        ).length;
        const drawnActive = holders + moreCount(root, 'active');
        if (drawnActive !== inFlight)
          problems.push(`${holders} visible holders (+more) vs "${inFlight} in flight"`);

        const waiters = items(root, 'Waitlist');
        const circles = waiters.map((el) => el.querySelector(':scope > g'));
        const seen = circles.filter((c) => visible(c)).length;
        const drawnWaiting = seen + moreCount(root, 'waiting');
        if (drawnWaiting !== waiting)
          problems.push(`${seen} visible waiters (+more) vs "${waiting} waiting"`);
        waiters.forEach((el, i) => {
          const label = el.querySelector('text.position');
          if (label?.textContent?.trim() !== String(i + 1) || !visible(label))
            problems.push(`waiter ${i + 1} shows no number "${label?.textContent ?? ''}"`);
        });
        const boxes = circles.map((c) => (c === null ? null : boxOf(c)));
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

        s.maxActive = Math.max(s.maxActive, inFlight);
        s.maxWaiting = Math.max(s.maxWaiting, waiting);
        if (problems.length > 0) {
          s.bad++;
          for (const kind of new Set(problems.map((p) => p.replace(/[\d"]+/g, '#')))) {
            s.kinds[kind] = (s.kinds[kind] ?? 0) + 1;
          }
          if (s.examples.length < 8) s.examples.push(`frame ${s.frames}: ${problems.join('; ')}`);
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, name);
}

async function stopSampling(page: Page): Promise<Samples> {
  return page.evaluate(() => {
    const w = window as unknown as SamplerWindow;
    w.frameTruthStop = true;
    return w.frameTruth;
  });
}

const bursts = [
  {
    name: 'fast jobs: parallelism 3, 30 messages of 300 ms',
    prefix: 'fast-jobs',
    count: 30,
    destination: 'sim://work?duration=300ms',
    screenshot: 'frame-truth-fast-jobs',
  },
  {
    name: 'slow jobs: parallelism 3, 12 messages of 2 s',
    prefix: 'slow-jobs',
    count: 12,
    destination: 'sim://work?duration=2000ms',
    screenshot: 'frame-truth-slow-jobs',
  },
];

for (const burst of bursts) {
  test(`every frame true during a burst of ${burst.name}`, async ({ page, request }) => {
    test.setTimeout(60_000);
    const key = uniqueKey(burst.prefix);
    await openDashboard(page);
    // The key's panel appears with its first message; sample from then on.
    await publish(request, key, 'parallelism=3', 1, burst.destination);
    const k = keyRegion(page, key);
    await expect(k.region).toBeVisible();
    await startSampling(page, key);

    // All at once, as a burst comes: the waitlist fills faster than any animation could show.
    await Promise.all(
      Array.from({ length: burst.count - 1 }, () =>
        publish(request, key, 'parallelism=3', 1, burst.destination),
      ),
    );
    await expect(k.waiting.first()).toBeVisible();
    await k.region
      .getByRole('group', { name: 'Parallelism' })
      .screenshot({ path: screenshotPath(burst.screenshot) });

    await expect(k.waiting).toHaveCount(0, { timeout: 30_000 });
    await expect(k.active).toHaveCount(0, { timeout: 10_000 });
    // A little of the quiet after it too: the last movements end, nothing is left drawn.
    await page.waitForTimeout(1500);
    const samples = await stopSampling(page);
    console.log(
      `${burst.prefix}: ${samples.bad}/${samples.frames} bad frames ${JSON.stringify(samples.kinds)}` +
        (samples.examples.length > 0 ? `\n  ${samples.examples.join('\n  ')}` : ''),
    );

    expect(samples.frames).toBeGreaterThan(100);
    expect(samples.maxActive).toBe(3);
    expect(samples.maxWaiting).toBeGreaterThan(0);
    expect(samples.examples).toEqual([]);
    expect(samples.bad).toBe(0);
  });
}
