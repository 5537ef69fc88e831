import { expect, test, type Page } from '@playwright/test';
import { screenshotPath } from './helpers';

/**
 * The walking skeleton end to end: messages published through the public API (as curl or a QStash
 * client would) show up live on the dashboard, under the key's parallelism, and drain.
 */

const uniqueKey = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

/** The three columns of one key's region, as a screen reader would find them. */
function keyRegion(page: Page, key: string) {
  const region = page.getByRole('region', { name: `key ${key}` });
  const items = (column: string) =>
    region.getByRole('list', { name: column }).getByRole('listitem');
  return {
    region,
    tokens: items('Parallelism Tokens'),
    active: items('Active Requests'),
    waiting: items('Waitlist'),
  };
}

async function deliveredCount(page: Page): Promise<number> {
  const text = await page
    .getByRole('list', { name: 'Totals' })
    .getByText(/ delivered$/)
    .textContent();
  return Number(text?.split(' ')[0]);
}

test('a burst on one key shows 2 active and 3 waiting, live, then drains', async ({
  page,
  request,
}) => {
  const key = uniqueKey('e2e-skeleton');
  await page.goto('/');
  await expect(page.getByRole('status')).toHaveText('Connected');
  const deliveredBefore = await deliveredCount(page);

  for (let i = 0; i < 5; i++) {
    // Long enough that the page is checked before the first two end, even on a busy machine.
    const res = await request.post('/v2/publish/sim://work?duration=4000ms', {
      headers: {
        'Upstash-Flow-Control-Key': key,
        'Upstash-Flow-Control-Value': 'parallelism=2',
      },
    });
    expect(res.status()).toBe(200);
    expect(await res.json()).toEqual({ messageId: expect.stringMatching(/^msg_/) });
  }

  const k = keyRegion(page, key);
  await expect(k.active).toHaveCount(2);
  await expect(k.waiting).toHaveCount(3);
  await expect(k.tokens).toHaveCount(0);
  await expect(k.active.first()).toHaveAccessibleName(/^token 1 of 2, held by msg_/);
  await expect(k.waiting.first()).toHaveAccessibleName('waiting 1st, for parallelism');
  await expect(k.waiting.nth(2)).toHaveAccessibleName('waiting 3rd, for parallelism');
  // The page's content only, without the empty viewport below it (the README shows this image).
  await page.locator('#root').screenshot({ path: screenshotPath('walking-skeleton') });

  // Three rounds of 4 s under parallelism 2; then every token is free again.
  await expect(k.waiting).toHaveCount(0, { timeout: 15_000 });
  await expect(k.active).toHaveCount(0, { timeout: 10_000 });
  await expect(k.tokens).toHaveCount(2);
  await expect(k.tokens.nth(1)).toHaveAccessibleName('token 2 of 2, free');
  // The page's total counts every key (an earlier spec's message may end meanwhile): at least ours.
  await expect
    .poll(() => deliveredCount(page), { timeout: 5_000 })
    .toBeGreaterThanOrEqual(deliveredBefore + 5);
  const logs = await request.get(`/v2/events?flowControlKey=${key}&state=DELIVERED`);
  expect(((await logs.json()) as { events: unknown[] }).events).toHaveLength(5);
});

test('the trigger form publishes a burst through the same API', async ({ page }) => {
  const key = uniqueKey('e2e-form');
  await page.goto('/');
  await expect(page.getByRole('status')).toHaveText('Connected');

  const form = page.getByRole('form', { name: 'Trigger' });
  await form.getByLabel('Key').fill(key);
  await form.getByLabel('Parallelism').fill('1');
  await form.getByLabel('Count').fill('3');
  await form.getByLabel('Duration (ms)').fill('400');
  await form.getByRole('button', { name: 'Publish' }).click();
  await expect(form.getByText(`Published 3 to ${key}`)).toBeVisible();

  const k = keyRegion(page, key);
  await expect(k.region).toContainText('parallelism 1');
  await expect(k.waiting).toHaveCount(0, { timeout: 10_000 });
  await expect(k.active).toHaveCount(0);
  await expect(k.tokens).toHaveCount(1);
  await expect(k.tokens.first()).toHaveAccessibleName('token 1 of 1, free');
});
