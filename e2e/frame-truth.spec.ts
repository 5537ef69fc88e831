import { expect, test, type Page } from '@playwright/test';
import {
  frameCheckScript,
  startFrameCheck,
  stopFrameCheck,
  type FrameCheckResult,
} from './frame-check';
import { keyRegion, openDashboard, publish, screenshotPath, uniqueKey } from './helpers';

/**
 * Issue 10, "Every frame true": whatever the diagram animates, every frame it paints tells the
 * key's state as the header does, and so do the key's overview row and its charts' subtitles.
 * Checked on every animation frame in the page by e2e/frame-check.ts (which the browser
 * benchmark runs too):
 * - one visible circle-with-token per request in flight ("N in flight");
 * - one visible, numbered circle per waiter, in order, plus the "+N more waiting" note, adding
 *   up to "N waiting";
 * - no two waiter circles overlapping;
 * - the overview row's "N/P" and waiting count, the charts' "N of P" and "N waiting".
 */

/** Starts checking every frame of every key view on the page against its header. */
async function startChecking(page: Page) {
  await page.evaluate(frameCheckScript);
  await page.evaluate(startFrameCheck);
}

async function stopChecking(page: Page): Promise<FrameCheckResult> {
  return page.evaluate(stopFrameCheck);
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
    // Its overview row in the page too, whatever other keys the server holds.
    await page.getByRole('searchbox', { name: 'Search keys' }).fill(key);
    await expect(
      page.getByRole('row').filter({ has: page.getByRole('button', { name: key }) }),
    ).toBeVisible();
    await startChecking(page);

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
    const samples = await stopChecking(page);
    const mine = samples.keys[key];
    console.log(
      `${burst.prefix}: ${samples.bad}/${samples.frames} bad frames ${JSON.stringify(samples.kinds)}, ` +
        `${samples.rowsCompared} rows and ${samples.chartsCompared} charts compared` +
        (samples.examples.length > 0 ? `\n  ${samples.examples.join('\n  ')}` : ''),
    );

    expect(mine?.frames).toBeGreaterThan(100);
    expect(mine?.maxActive).toBe(3);
    expect(mine?.maxWaiting).toBeGreaterThan(0);
    // Its overview row and its charts were on the page, and compared too.
    expect(mine?.rowsCompared).toBeGreaterThan(100);
    expect(mine?.chartsCompared).toBeGreaterThan(100);
    expect(samples.examples).toEqual([]);
    expect(samples.bad).toBe(0);
  });
}
