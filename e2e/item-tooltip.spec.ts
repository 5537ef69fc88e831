import { expect, test, type Locator } from '@playwright/test';
import { keyRegion, openDashboard, publish, uniqueKey } from './helpers';

type Box = { x: number; y: number; width: number; height: number };

const overlap = (a: Box, b: Box) =>
  Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 1 &&
  Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 1;

/** The items of a list that the box covers, by accessible name. */
async function covered(items: Locator, tip: Box): Promise<string[]> {
  const names: string[] = [];
  for (const item of await items.all()) {
    const box = await item.boundingBox();
    if (box !== null && overlap(box, tip))
      names.push((await item.getAttribute('aria-label')) ?? '');
  }
  return names;
}

/**
 * Issue 10: a tooltip tells about one item without hiding others. A waiter's tip and an active
 * request's each go under their column, where they cover no token, no active request and no
 * waiter, even with two rows of waiters.
 */
test('an item tooltip covers no token, active request or waiter', async ({ page, request }) => {
  const key = uniqueKey('tooltip');
  await openDashboard(page);
  // Parallelism 3 and 12 long messages: 3 active, 9 waiting in two rows.
  await publish(request, key, 'parallelism=3', 12, 'sim://work?duration=60s');
  const k = keyRegion(page, key);
  await expect(k.active).toHaveCount(3);
  await expect(k.waiting).toHaveCount(9);
  const diagram = k.region.getByRole('group', { name: 'Parallelism' });
  const tip = page.getByRole('tooltip');
  const everything = k.region.locator('[role="list"] > [role="listitem"]');

  // The seventh waiter sits on the second row.
  const first = (await k.waiting.nth(0).boundingBox())!;
  const seventh = k.waiting.nth(6);
  expect((await seventh.boundingBox())!.y).toBeGreaterThan(first.y + first.height / 2);
  await seventh.hover();
  await expect(tip).toContainText('Waiting 7th');
  // Pictures for a reviewer (in the test's output folder): the diagram and, under it, the tip.
  const shot = (await diagram.boundingBox())!;
  await page.screenshot({
    path: test.info().outputPath('tooltip-waiter.png'),
    clip: { ...shot, height: shot.height + 120 },
  });
  const waiterTip = (await tip.boundingBox())!;
  expect(await covered(everything, waiterTip)).toEqual([]);
  // Just under the waitlist, right of the active requests.
  const last = (await k.waiting.nth(8).boundingBox())!;
  const lastActive = (await k.active.nth(2).boundingBox())!;
  expect(waiterTip.y).toBeGreaterThan(last.y + last.height);
  expect(waiterTip.y).toBeLessThan(last.y + last.height + 40);
  expect(waiterTip.x).toBeGreaterThan(lastActive.x + lastActive.width);

  // A first-row waiter's tip goes to the same place, clear of the active requests level with it.
  await k.waiting.nth(1).hover();
  await expect(tip).toContainText('Waiting 2nd');
  expect(await covered(everything, (await tip.boundingBox())!)).toEqual([]);

  await k.active.nth(1).hover();
  await expect(tip).toContainText('Holds token 2 of 3');
  await page.screenshot({
    path: test.info().outputPath('tooltip-active.png'),
    clip: { ...shot, height: shot.height + 120 },
  });
  expect(await covered(everything, (await tip.boundingBox())!)).toEqual([]);

  // Leave a quiet server for the tests after this one.
  await request.delete(`/v2/messages?flowControlKey=${key}`);
});
