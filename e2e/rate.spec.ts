import { expect, test } from '@playwright/test';
import { keyRegion, openDashboard, picture, publish, uniqueKey } from './helpers';

/**
 * The docs' rate story: two starts fill a 10 s window, the other three are pushed into the next
 * windows, and start there.
 */
test('rate 2 per 10 s with 5 requests: 2 start, 3 wait for the next windows, then start there', async ({
  page,
  request,
}) => {
  test.setTimeout(60_000);
  const key = uniqueKey('e2e-rate');
  await openDashboard(page);
  const k = keyRegion(page, key);

  await publish(request, key, 'rate=2, period=10s', 5, 'sim://work?duration=300ms');
  await expect(k.waiting).toHaveCount(3);
  await expect(k.waiting.first()).toHaveAccessibleName('waiting 1st, for rate');
  await expect(
    k.region.getByRole('listitem', { name: /^current window: 2 of 2 started/ }),
  ).toBeVisible();
  await expect(
    k.region.getByRole('listitem', { name: 'next window: 2 waiting to start' }),
  ).toBeVisible();
  await expect(
    k.region.getByRole('listitem', { name: 'window after next: 1 waiting to start' }),
  ).toBeVisible();
  await picture(page, k.region, 'rate-window-full');

  // The window rolls over: two more start, the last one is pushed on again.
  await expect(k.waiting).toHaveCount(1, { timeout: 12_000 });
  await expect(
    k.region.getByRole('listitem', { name: /^previous window: 2 started/ }),
  ).toBeVisible();
  await expect(
    k.region.getByRole('listitem', { name: /^current window: 2 of 2 started/ }),
  ).toBeVisible();
  await expect(
    k.region.getByRole('listitem', { name: 'next window: 1 waiting to start' }),
  ).toBeVisible();
  await page.waitForTimeout(500);
  await picture(page, k.region.getByRole('group', { name: /^Rate windows/ }), 'rate-next-window');

  await expect(k.waiting).toHaveCount(0, { timeout: 12_000 });
  const info = await (await request.get(`/v2/flowControl/${key}`)).json();
  expect(info).toMatchObject({ rateMax: 2, ratePeriod: 10, waitListSize: 0 });
});
