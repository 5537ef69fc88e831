import { expect, test, type Page } from '@playwright/test';
import { keyRegion, openDashboard, publish, screenshotPath, uniqueKey } from './helpers';

/**
 * Issue 10, "History that survives a reload": a page reloaded mid-burst draws what it drew
 * before: the charts' lines, the rate windows' past starts and the event log, plus whatever
 * happened in between. Read from the page as it is drawn, before and after the reload.
 */

/** A flat stretch of a chart's line: the value `v` from `t` on (ms relative to the chart's now). */
interface Step {
  t: number;
  v: number;
}

/**
 * The steps of the count charts' lines (in flight, waiting), read from their paths at one
 * instant (the charts move with every tick of their clock): each horizontal stretch's start, in
 * time relative to the charts' "now" (their right edge), its value read off the y axis' ticks.
 */
async function chartSteps(page: Page, key: string) {
  return page.evaluate((key) => {
    const section = document.querySelector(`section[aria-label="key ${key}"]`);
    const steps = (chart: string, series: string) => {
      const figure = [...(section?.querySelectorAll('figure.chart') ?? [])].find(
        (f) => f.querySelector('.chart-title')?.textContent === chart,
      );
      if (figure === undefined) throw new Error(`no chart "${chart}" for ${key}`);
      const labels = [...figure.querySelectorAll('text.time-label')];
      const left = Number(labels[0]!.getAttribute('x'));
      const right = Number(labels[1]!.getAttribute('x'));
      const spanMs = Number(/(\d+)/.exec(labels[0]!.textContent ?? '')![1]) * 1000;
      const ticks = [...figure.querySelectorAll('g.tick')].map((g) => ({
        y: Number(g.querySelector('line')!.getAttribute('y1')),
        v: Number(g.querySelector('text')!.textContent),
      }));
      const [a, b] = [ticks[0]!, ticks[ticks.length - 1]!];
      const value = (y: number) => a.v + ((y - a.y) * (b.v - a.v)) / (b.y - a.y);
      const d = figure.querySelector(`path.series.${series}`)?.getAttribute('d') ?? '';
      const xy = [...d.matchAll(/(-?[\d.]+(?:e-?\d+)?),(-?[\d.]+(?:e-?\d+)?)/g)].map((m) => ({
        x: Number(m[1]),
        y: Number(m[2]),
      }));
      const out: { t: number; v: number }[] = [];
      for (let i = 0; i + 1 < xy.length; i++) {
        const [p, q] = [xy[i]!, xy[i + 1]!];
        if (p.y !== q.y || q.x <= p.x) continue;
        // Counts: whole numbers, read off a path drawn to a thousandth of a pixel.
        const v = Math.round(value(p.y));
        const last = out[out.length - 1];
        // The stretch going on past a point that changed nothing this chart shows.
        if (last !== undefined && last.v === v && xy[i - 1]?.y === p.y) continue;
        out.push({ t: ((p.x - right) / (right - left)) * spanMs, v });
      }
      return out;
    };
    return {
      inFlight: steps('In flight vs limit', 'in-flight'),
      waiting: steps('Waitlist size', 'waiting'),
    };
  }, key);
}

/** What the key's panel and the log draw now (the log filtered to the key, all its rows). */
async function capture(page: Page, key: string) {
  const k = keyRegion(page, key);
  const windows = await k.windows.evaluateAll((items) =>
    items.map((li) => li.getAttribute('aria-label') ?? ''),
  );
  const waitSummary = await k.region
    .getByRole('img', { name: /^Wait before start:/ })
    .getAttribute('aria-label');
  const log = page.getByRole('region', { name: 'Event log' });
  await log.getByRole('searchbox', { name: 'Filter by key' }).fill(key);
  await expect(log.getByText(/^\d+ shown$/)).not.toHaveText('0 shown');
  // The log draws only the rows in view: scroll through it, reading each row once drawn; again
  // if rows came in meanwhile (they come on top, and move the rest down).
  const rows = await log.getByRole('log').evaluate(async (body) => {
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const rowHeight = 26;
    const shown = () =>
      Number(
        /^(\d+) shown$/.exec(
          body.closest('section')!.querySelector('.log-bar .muted')!.textContent!,
        )![1],
      );
    for (;;) {
      const total = shown();
      const byIndex = new Map<number, string>();
      const read = () => {
        for (const row of body.querySelectorAll<HTMLElement>('.log-row')) {
          const y = Number(/translateY\(([\d.]+)px\)/.exec(row.style.transform)?.[1]);
          byIndex.set(Math.round(y / rowHeight), row.innerText.replace(/\s+/g, ' ').trim());
        }
      };
      for (let top = 0; ; top += body.clientHeight / 2) {
        body.scrollTop = top;
        const first = Math.floor(body.scrollTop / rowHeight);
        const last = Math.min(total, Math.ceil((body.scrollTop + body.clientHeight) / rowHeight));
        for (let tries = 0; tries < 60; tries++) {
          await frame();
          read();
          if (byIndex.has(first) && byIndex.has(last - 1)) break;
        }
        if (body.scrollTop + body.clientHeight >= body.scrollHeight - 1) break;
      }
      if (shown() !== total) continue;
      return Array.from({ length: total }, (_, i) => byIndex.get(i) ?? `row ${i} never drawn`);
    }
  });
  return {
    at: Date.now(),
    ...(await chartSteps(page, key)),
    windows,
    started: Number(/\((\d+) started/.exec(waitSummary ?? '')?.[1] ?? 0),
    rows,
  };
}

/**
 * Each of `before`'s steps, in `after` at the same server time: `shift` is how much later the
 * second reading's now was. Steps that began in the last bucket before the first reading may
 * still have moved (a bucket's point stands for its end), so they are left out.
 */
function missing(before: Step[], after: Step[], shift: number): Step[] {
  return before
    .filter((s) => s.t < -300)
    .filter((s) => !after.some((a) => a.v === s.v && Math.abs(a.t - shift - s.t) < 1));
}

test('a page reloaded mid-burst draws the charts, the rate windows and the log it drew before', async ({
  page,
  request,
}) => {
  test.setTimeout(90_000);
  const key = uniqueKey('e2e-reload');
  await openDashboard(page);
  const k = keyRegion(page, key);

  // 12 jobs of 3 s, at most 2 at a time and 3 starts per 10 s window: a burst of 40 s.
  await publish(
    request,
    key,
    'parallelism=2, rate=3, period=10s',
    12,
    'sim://work?duration=3000ms',
  );
  await expect(k.waiting).not.toHaveCount(0);
  // The first window over (3 started in it), the second begun: its starts are history now.
  await expect(k.region.getByRole('listitem', { name: /^previous window: 3 started/ })).toBeVisible(
    { timeout: 20_000 },
  );
  await expect(k.region.getByRole('listitem', { name: /^current window: 2 of 3/ })).toBeVisible();
  // The charts read the history twice a second: until they draw the new window's two starts.
  await expect.poll(async () => (await chartSteps(page, key)).inFlight.at(-1)?.v).toBe(2);
  // The wait chart's subtitle counts the starts up to the page's clock, which ticks twice a
  // second: the window's two new starts may be a tick behind the in-flight chart.
  await expect
    .poll(async () =>
      Number(
        /\((\d+) started/.exec(
          (await k.region
            .getByRole('img', { name: /^Wait before start:/ })
            .getAttribute('aria-label')) ?? '',
        )?.[1] ?? 0,
      ),
    )
    .toBeGreaterThanOrEqual(5);
  const before = await capture(page, key);
  expect(before.inFlight.length).toBeGreaterThanOrEqual(4);
  expect(before.waiting.length).toBeGreaterThanOrEqual(3);
  expect(before.started).toBeGreaterThanOrEqual(5);

  await page.reload();
  await expect(page.getByRole('status')).toHaveText('Connected');
  // Followed again after the reload, as the latest active key.
  await expect(k.region).toBeVisible();
  await expect
    .poll(async () => (await chartSteps(page, key)).inFlight.length, { timeout: 5_000 })
    .toBeGreaterThanOrEqual(before.inFlight.length);
  const after = await capture(page, key);

  // Still the same rate window (it has 10 s, the reload takes a second or two): its predecessor's
  // starts come from the history.
  const left = (windows: string[]) =>
    Number(/, ([\d.]+) s left$/.exec(windows.find((w) => w.startsWith('current')) ?? '')?.[1]);
  expect(left(after.windows)).toBeLessThan(left(before.windows));
  expect(after.windows[0]).toBe(before.windows[0]);

  // The lines: the first step (the burst's start) fixes how far the now moved; every step drawn
  // before is drawn after, at the same time, with the same value.
  const shift = after.inFlight[0]!.t - before.inFlight[0]!.t;
  expect(Math.abs(-shift - (after.at - before.at))).toBeLessThan(1_500);
  expect(missing(before.inFlight, after.inFlight, shift)).toEqual([]);
  expect(missing(before.waiting, after.waiting, shift)).toEqual([]);
  expect(after.started).toBeGreaterThanOrEqual(before.started);

  // The log: every row it showed, in the same order, after the rows of what happened since.
  expect(after.rows.length).toBeGreaterThanOrEqual(before.rows.length);
  expect(after.rows.slice(after.rows.length - before.rows.length)).toEqual(before.rows);

  const log = page.getByRole('region', { name: 'Event log' });
  await log.getByRole('searchbox').fill('');
  await log.getByRole('log').evaluate((body) => (body.scrollTop = 0));
  await page.mouse.move(0, 0);
  await page.waitForTimeout(300);
  await page.locator('#root').screenshot({ path: screenshotPath('reload-history') });
});
