import { expect, test } from '@playwright/test';
import { keyRegion, openDashboard, picture, publish, screenshotPath, uniqueKey } from './helpers';

/**
 * The docs' parallelism story, live: three tokens, three requests holding them, three more
 * arriving to find no token and waiting, then each finishing request handing its token on.
 */
test('parallelism 3 with 6 requests: 3 active, 3 waiting, handoffs until done, never more than 3 active', async ({
  page,
  request,
}) => {
  test.setTimeout(60_000);
  const key = uniqueKey('e2e-parallel');
  await openDashboard(page);

  // Sample the page every frame from now on: the most active items it ever shows for the key.
  await page.evaluate((name) => {
    const w = window as unknown as {
      samples: { frames: number; maxActive: number; maxWaiting: number };
    };
    w.samples = { frames: 0, maxActive: 0, maxWaiting: 0 };
    const count = (list: string) =>
      document.querySelectorAll(
        `section[aria-label="key ${name}"] [role="list"][aria-label="${list}"] > [role="listitem"]`,
      ).length;
    const tick = () => {
      w.samples.frames++;
      w.samples.maxActive = Math.max(w.samples.maxActive, count('Active Requests'));
      w.samples.maxWaiting = Math.max(w.samples.maxWaiting, count('Waitlist'));
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, key);

  const k = keyRegion(page, key);
  // Started a little apart, so they also finish apart and each handoff can be seen on its own;
  // long enough that the pictures and the why-panel below are taken before the first one ends,
  // even on a busy machine.
  for (let i = 0; i < 3; i++) {
    await publish(request, key, 'parallelism=3', 1, 'sim://work?duration=10000ms');
    await page.waitForTimeout(600);
  }
  await expect(k.active).toHaveCount(3);
  await expect(k.tokens).toHaveCount(0);
  await expect(k.active.first()).toHaveAccessibleName(/^token 1 of 3, held by msg_/);

  // Three more arrive while every token is held: the docs' "No available token".
  await publish(request, key, 'parallelism=3', 3, 'sim://work?duration=6000ms');
  await expect(k.waiting).toHaveCount(3);
  const diagram = k.region.getByRole('group', { name: 'Parallelism' });
  await picture(page, diagram, 'parallelism-no-token');
  await expect(k.waiting.nth(0)).toHaveAccessibleName('waiting 1st, for parallelism');
  await expect(k.waiting.nth(2)).toHaveAccessibleName('waiting 3rd, for parallelism');

  // Once the newcomer has walked to its place: the docs' third picture.
  await page.waitForTimeout(2100);
  await expect(k.waiting).toHaveCount(3);
  await picture(page, diagram, 'parallelism-waitlist');

  // Pick the key in the overview (it stays in view), and take the whole dashboard's picture.
  const overview = page.getByRole('region', { name: 'Keys overview' });
  await overview.getByRole('searchbox', { name: 'Search keys' }).fill(key);
  await overview.getByRole('button', { name: key }).click();
  await expect(overview.getByRole('button', { name: key })).toHaveAttribute('aria-pressed', 'true');
  await page.locator('#root').screenshot({ path: screenshotPath('dashboard') });

  // Why is the first one waiting? Asked from the page, answered from the key's state.
  await k.waiting.first().click();
  const why = k.region.getByRole('complementary', { name: /^Why is msg_.* waiting\?$/ });
  await expect(why).toContainText('parallelism is full: 3 of 3 in flight');
  await expect(why).toContainText('It is first in line.');
  await page.mouse.move(0, 0);
  await picture(page, k.region, 'parallelism-why');
  await why.getByRole('button', { name: 'Close explanation' }).click();

  // The first request finishes and hands its token straight to the first waiter.
  await expect(k.waiting).toHaveCount(2, { timeout: 10_000 });
  await page.waitForTimeout(200);
  await picture(page, diagram, 'parallelism-handoff');
  await expect(k.active).toHaveCount(3);

  // …and so on until everything is delivered and the three tokens are back.
  await expect(k.waiting).toHaveCount(0, { timeout: 10_000 });
  await expect(k.active).toHaveCount(0, { timeout: 10_000 });
  await expect(k.tokens).toHaveCount(3);
  await expect(k.tokens.nth(2)).toHaveAccessibleName('token 3 of 3, free');

  const samples = await page.evaluate(
    () =>
      (window as unknown as { samples: { frames: number; maxActive: number; maxWaiting: number } })
        .samples,
  );
  expect(samples.frames).toBeGreaterThan(100);
  expect(samples.maxActive).toBe(3);
  expect(samples.maxWaiting).toBe(3);
});
