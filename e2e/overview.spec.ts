import { expect, test } from '@playwright/test';
import { keyRegion, openDashboard, picture, uniqueKey } from './helpers';

/** Thousands of keys: the overview stays virtualized, searchable and sortable. */
test('the overview lists 5,000 keys, searches and sorts them, and opens one', async ({
  page,
  request,
}) => {
  test.setTimeout(90_000);
  const prefix = uniqueKey('e2e-many');
  await openDashboard(page);

  // 5,000 keys: one busy key (below), and the rest in five batches of short messages. The busy
  // key takes no short message, so its waitlist stays put however slowly the page looks at it.
  const busy = `${prefix}-0042`;
  for (let b = 0; b < 5; b++) {
    const numbers = Array.from({ length: 1000 }, (_, i) => b * 1000 + i).filter((n) => n !== 42);
    const items = numbers.map((n) => ({
      destination: 'sim://work?duration=1500ms',
      headers: {
        'Upstash-Flow-Control-Key': `${prefix}-${String(n).padStart(4, '0')}`,
        'Upstash-Flow-Control-Value': 'parallelism=1',
      },
    }));
    const res = await request.post('/v2/batch', { data: items });
    expect(res.status()).toBe(200);
  }
  // The short messages end before the busy key's arrive (and before later tests start), so the
  // event log, which keeps the latest 2,000 events, still holds the busy key's when it is read.
  await expect
    .poll(
      async () => {
        const res = await request.get('/v2/flowControl');
        const keys = (await res.json()) as { flowControlKey: string; parallelismCount: number }[];
        return keys.filter((k) => k.flowControlKey.startsWith(prefix) && k.parallelismCount > 0)
          .length;
      },
      { timeout: 30_000 },
    )
    .toBe(0);
  for (let i = 0; i < 5; i++) {
    await request.post('/v2/publish/sim://work?duration=60s', {
      headers: { 'Upstash-Flow-Control-Key': busy, 'Upstash-Flow-Control-Value': 'parallelism=1' },
    });
  }

  const overview = page.getByRole('region', { name: 'Keys overview' });
  const search = overview.getByRole('searchbox', { name: 'Search keys' });
  // The "/" shortcut puts the cursor in the search box.
  await page.locator('body').press('/');
  await expect(search).toBeFocused();
  await search.fill(prefix);
  // "5000 of N keys" after other tests' keys, "5000 keys" when this test runs alone.
  await expect(overview).toContainText(/\D5000 (of \d+ )?keys/, { timeout: 30_000 });

  // Virtualized: a few dozen rows in the page, not five thousand.
  const rows = overview.getByRole('row');
  expect(await rows.count()).toBeLessThan(60);

  // Sort by waitlist, largest first: the busy key comes to the top.
  await overview.getByRole('button', { name: /^Waiting/ }).click();
  await expect(overview.getByRole('columnheader', { name: /Waiting/ })).toHaveAttribute(
    'aria-sort',
    'descending',
  );
  const first = rows.nth(1);
  await expect(first.getByRole('button')).toHaveText(busy);
  await expect(first).toContainText('1/1');
  await picture(page, overview, 'overview');

  // Pick it from the keyboard: it stays in view.
  await first.getByRole('button').focus();
  await page.keyboard.press('Enter');
  await expect(first.getByRole('button')).toHaveAttribute('aria-pressed', 'true');
  const k = keyRegion(page, busy);
  await expect(k.active).toHaveCount(1);
  await expect(k.waiting).toHaveCount(4);

  // Arrow keys walk the rows; search narrows to one.
  await page.keyboard.press('ArrowDown');
  await expect(rows.nth(2).getByRole('button')).toBeFocused();
  await search.fill(`${prefix}-4999`);
  await expect(overview).toContainText(/^.*1 of \d+ keys/);
  await expect(rows).toHaveCount(2);

  // The event log, filtered to the busy key and its waitlist events.
  const log = page.getByRole('region', { name: 'Event log' });
  await log.getByRole('searchbox', { name: 'Filter by key' }).fill(busy);
  await log
    .getByRole('combobox', { name: 'Filter by event type' })
    .selectOption('message:waitlisted');
  await expect(log).toContainText('4 shown');
  await expect(log.getByRole('log')).toContainText('waits 4. for parallelism');
  await picture(page, log, 'event-log');

  // Leave a quiet server for the tests after this one.
  await request.delete(`/v2/messages?flowControlKey=${busy}`);
});
