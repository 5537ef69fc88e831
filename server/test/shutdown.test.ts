import { afterEach, expect, it } from 'vitest';
import { startDestination } from './destination';
import { runMain, type MainProcess } from './main-process';

let baton: MainProcess | undefined;
let closeDest: (() => Promise<void>) | undefined;
afterEach(async () => {
  await baton?.stop();
  await closeDest?.();
});

it('on SIGTERM: refuses new work with 503, lets the deliveries in flight finish, and logs what it leaves behind', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const dest = await startDestination(() => ({ status: 200, until: held }));
  closeDest = dest.close;
  baton = await runMain(['--shutdown-timeout', '20s']);
  const publish = () =>
    fetch(`${baton!.base}/v2/publish/${dest.url}/job`, {
      method: 'POST',
      headers: {
        'Upstash-Flow-Control-Key': 'jobs',
        'Upstash-Flow-Control-Value': 'parallelism=3',
      },
      body: 'work',
    });
  let accepted = 0;
  for (let i = 0; i < 10; i++) if ((await publish()).status === 200) accepted++;
  expect(accepted).toBe(10);
  await dest.serving(3);

  baton.child.kill('SIGTERM');
  // Accepting stops at once: a publish during the stop is refused, not taken and dropped.
  let refused: Response | undefined;
  for (let i = 0; i < 50 && refused === undefined; i++) {
    // Until the signal is handled, a publish is still taken (and is then left behind).
    const r = await publish();
    if (r.status === 503) refused = r;
    else if (r.status === 200) accepted++;
  }
  expect(refused?.status).toBe(503);
  expect(refused?.headers.get('retry-after')).toBe('5');
  expect(await refused?.json()).toEqual({ error: expect.stringContaining('shutting down') });

  // The three in flight finish; no other starts.
  release();
  expect(await baton.exited).toBe(0);
  expect(dest.received).toHaveLength(3);
  const report = baton.entries().find((e) => e.msg.startsWith('stopped after'));
  expect(report).toMatchObject({ finished: 3, abandoned: 0, waiting: accepted - 3, scheduled: 0 });
  expect(report?.msg).toMatch(new RegExp(`these ${accepted - 3} messages are lost`));
}, 30_000);

it('abandons what is still in flight at --shutdown-timeout, and says so', async () => {
  const dest = await startDestination(() => ({ status: 200, until: new Promise(() => {}) }));
  closeDest = dest.close;
  baton = await runMain(['--shutdown-timeout', '1s']);
  await fetch(`${baton.base}/v2/publish/${dest.url}/stuck`, { method: 'POST' });
  await dest.serving(1);
  baton.child.kill('SIGTERM');
  expect(await baton.exited).toBe(0);
  const report = baton.entries().find((e) => e.msg.startsWith('stopped after'));
  expect(report).toMatchObject({ finished: 0, abandoned: 1 });
}, 30_000);
