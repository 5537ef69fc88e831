import { expect, test } from '@playwright/test';
import { keyRegion, openDashboard, picture, publish, uniqueKey } from './helpers';

/** The key controls act through the public management API, and the picture follows the server. */
test('pause and resume from the page', async ({ page, request }) => {
  const key = uniqueKey('e2e-pause');
  await openDashboard(page);
  const k = keyRegion(page, key);
  await publish(request, key, 'parallelism=2', 1, 'sim://work?duration=6000ms');
  await expect(k.active).toHaveCount(1);

  await k.region.getByRole('button', { name: 'Pause' }).click();
  await expect(k.region.getByRole('list', { name: 'Limits' })).toContainText('paused');
  const state = await (await request.get(`/v2/flowControl/${key}`)).json();
  expect(state.isPaused).toBe(true);

  // New messages wait although a token is free; the running one finishes as usual.
  await publish(request, key, 'parallelism=2', 2, 'sim://work?duration=800ms');
  await expect(k.waiting).toHaveCount(2);
  await expect(k.waiting.first()).toHaveAccessibleName('waiting 1st, for paused');
  await k.waiting.nth(1).press('Enter');
  await expect(k.region.getByRole('complementary')).toContainText(`key ${key} is paused`);
  await page.keyboard.press('Escape');
  await page.waitForTimeout(2100); // let the newcomer take its place before the picture
  await picture(page, k.region, 'paused');

  await k.region.getByRole('button', { name: 'Resume' }).click();
  await expect(k.region.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect(k.waiting).toHaveCount(0);
  await expect(k.active).toHaveCount(0, { timeout: 10_000 });
  await expect(k.tokens).toHaveCount(2);
});

test('pin parallelism from the page: later messages no longer change it', async ({
  page,
  request,
}) => {
  const key = uniqueKey('e2e-pin');
  await openDashboard(page);
  const k = keyRegion(page, key);
  await publish(request, key, 'parallelism=3', 1, 'sim://work?duration=300ms');
  await expect(k.region.getByRole('list', { name: 'Limits' })).toContainText('parallelism 3');

  await k.region.getByRole('button', { name: 'Pin…' }).click();
  const form = k.region.getByRole('form', { name: `Pin ${key}` });
  await form.getByLabel('Parallelism').fill('1');
  await form.getByRole('button', { name: 'Pin' }).click();
  await expect(k.region.getByRole('list', { name: 'Limits' })).toContainText(
    'parallelism 1 pinned',
  );
  await expect(k.tokens).toHaveCount(1, { timeout: 5_000 });

  // Messages asking for parallelism 3 run one at a time now.
  await publish(request, key, 'parallelism=3', 3, 'sim://work?duration=5000ms');
  await expect(k.active).toHaveCount(1);
  await expect(k.waiting).toHaveCount(2);
  await expect(k.active.first()).toHaveAccessibleName(/^token 1 of 1, held by msg_/);
  const info = await (await request.get(`/v2/flowControl/${key}`)).json();
  expect(info).toMatchObject({ parallelismMax: 1, isPinnedParallelism: true });
  await page.waitForTimeout(2100);
  await picture(page, k.region, 'pinned');

  await k.region.getByRole('button', { name: 'Unpin' }).click();
  await expect(k.region.getByRole('list', { name: 'Limits' })).not.toContainText('pinned');
  await expect(k.region.getByRole('button', { name: 'Unpin' })).toBeDisabled();
  await request.delete(`/v2/messages?flowControlKey=${key}`);
});
