import { expect, type APIRequestContext, type Page } from '@playwright/test';

/** A key no other test uses, so tests sharing one server never see each other's messages. */
export const uniqueKey = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

/** Opens the dashboard and waits until it is live. */
export async function openDashboard(page: Page, url = '/') {
  await page.goto(url);
  await expect(page.getByRole('status')).toHaveText('Connected');
}

/** One key's region and its three columns, as a screen reader would find them. */
export function keyRegion(page: Page, key: string) {
  const region = page.getByRole('region', { name: `key ${key}` });
  const items = (column: string) =>
    region.getByRole('list', { name: column, exact: true }).getByRole('listitem');
  return {
    region,
    tokens: items('Parallelism Tokens'),
    active: items('Active Requests'),
    waiting: items('Waitlist'),
    windows: items('Rate windows'),
  };
}

/** Publishes `count` messages to a simulated destination, one after another, as curl would. */
export async function publish(
  request: APIRequestContext,
  key: string,
  value: string,
  count: number,
  destination = 'sim://work?duration=1500ms',
) {
  for (let i = 0; i < count; i++) {
    const res = await request.post(`/v2/publish/${destination}`, {
      headers: { 'Upstash-Flow-Control-Key': key, 'Upstash-Flow-Control-Value': value },
    });
    expect(res.status()).toBe(200);
  }
}

/**
 * Where a README picture goes: docs/screenshots when refreshing them (`npm run screenshots`), else
 * beside the other test output, so a plain test run leaves the tracked pictures alone.
 */
export function screenshotPath(name: string): string {
  const dir =
    process.env.BATON_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/screenshots';
  return `${dir}/${name}.png`;
}

/** Saves a README picture of one element, with the caret and scrollbars out of the way. */
export async function picture(page: Page, locator: ReturnType<Page['locator']>, name: string) {
  await locator.screenshot({ path: screenshotPath(name), caret: 'hide' });
}
