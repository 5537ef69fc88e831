import { expect, test, type Locator } from '@playwright/test';
import { openDashboard, picture, uniqueKey } from './helpers';

/** A number of ms from one of the prediction's data attributes. */
async function msAttr(region: Locator, name: string): Promise<number> {
  const raw = await region.getAttribute(name);
  expect(raw, name).not.toBeNull();
  return Number(raw);
}

/**
 * "Predict, then watch": the trigger form runs the engine in the page on the burst before it is
 * published, then draws the real run over the prediction.
 */
test('a burst of 12 at parallelism 3, 1 s each, predicts about 4 s, and the real run lands within 10%', async ({
  page,
}) => {
  test.setTimeout(60_000);
  const key = uniqueKey('e2e-predict');
  await openDashboard(page);

  const form = page.getByRole('form', { name: 'Trigger' });
  await form.getByLabel('Key').fill(key);
  await form.getByLabel('Parallelism').fill('3');
  await form.getByLabel('Count').fill('12');
  await form.getByLabel('Duration (ms)').fill('1000');
  await form.getByLabel('Jitter (ms)').fill('0');
  await form.getByLabel('Failures (%)').fill('0');

  // Before publishing: the expected timeline, in a drawing and in words.
  const prediction = form.getByRole('region', { name: 'Prediction' });
  await expect(prediction.getByText(/^12 requests: /)).toBeVisible();
  const words = (await prediction.locator('.prediction-summary').textContent()) ?? '';
  const total = /12 requests: (\d+(?:\.\d+)?) s in all\./.exec(words);
  expect(total, words).not.toBeNull();
  expect(Number(total![1])).toBeGreaterThanOrEqual(3.6);
  expect(Number(total![1])).toBeLessThanOrEqual(4.4);
  expect(words).toContain('Longest wait 3.0 s (request 10).');
  const predictedMs = await msAttr(prediction, 'data-predicted-ms');
  expect(predictedMs).toBe(Number(total![1]) * 1000);
  await expect(
    prediction.getByRole('img', { name: 'Timeline, one row per request' }),
  ).toBeVisible();

  // Publish; the real run is drawn over the prediction as its events arrive.
  await form.getByRole('button', { name: 'Publish' }).click();
  await expect(form.getByText(`Published 12 to ${key}`)).toBeVisible();
  await expect(prediction).toHaveAttribute('data-state', /running|done/);
  await expect(prediction).toHaveAttribute('data-state', 'done', { timeout: 20_000 });

  const realMs = await msAttr(prediction, 'data-real-ms');
  expect(Math.abs(realMs - predictedMs) / predictedMs).toBeLessThanOrEqual(0.1);
  await expect(prediction.locator('.prediction-real')).toHaveText(
    /^Predicted 4\.0 s · real \d+\.\d s \([+−±]\d+%\) · real longest wait \d+\.\d s$/,
  );

  // A window tall enough for the whole form: the side column scrolls on its own in a short one.
  await page.setViewportSize({ width: 1280, height: 1200 });
  await page.mouse.move(0, 0);
  await picture(page, form, 'prediction');
  // The same at a narrower window, for a look (not a README picture).
  await page.setViewportSize({ width: 1024, height: 1200 });
  await form.screenshot({ path: 'test-results/screenshots/prediction-1024.png', caret: 'hide' });
});
