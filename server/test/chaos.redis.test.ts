/**
 * Issue 11's chaos test, for the flow control Redis holds: three Baton processes (server/main.ts,
 * as an operator starts them) on one Redis of our own with AOF, 3,000 messages over 30 keys
 * (parallelism 3; every fifth key also a rate) to a local recording destination. Mid-burst one
 * server is killed with SIGKILL and started again a second later. Then every server and Redis
 * stop and start again from the AOF: the messages still delayed are delivered, and the dead
 * letters, schedules, queues, URL groups and message history are all there.
 *
 * Judged from the destination's records (chaos-checks.ts says exactly what), with Redis's own
 * decisions beside them (chaos-tap.ts) for the rate windows and to explain a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, stop as stopRedis, watchdog, type Running } from '../../scripts/redis-server';
import { checkRate, deliveryReport, groupBy, mostInFlightByKey } from './chaos-checks';
import {
  preciseNow,
  startRecordingDestination,
  type Attempt,
  type RecordingDestination,
} from './chaos-destination';
import { tapEvents, type Start } from './chaos-tap';
import { keepEverythingElse } from './chaos-kept';
import { runMain, type MainProcess } from './main-process';

const SERVERS = 3;
const KEYS = 30;
const MESSAGES = 3_000;
const BATCH = 100;
const PARALLELISM = 3;
const RATE = 20;
const PERIOD_MS = 1_000;
const LEASE_MS = 2_000;
/** main.ts renews leases every third of the lease (at least 100 ms). */
const RENEW_MS = Math.max(100, Math.floor(LEASE_MS / 3));
/** The kill comes once this many deliveries were answered: mid-burst. */
const KILL_AFTER = 900;
const VICTIM = 1;
const DELAYED = 30;
const DELAY_MS = 4_000;

const keyName = (k: number): string => `key-${String(k).padStart(2, '0')}`;
const rated = (k: number): boolean => k % 5 === 0;
const flowValue = (k: number): string =>
  rated(k) ? `parallelism=${PARALLELISM}, rate=${RATE}, period=1s` : `parallelism=${PARALLELISM}`;

/** 50–150 ms, fixed per message (FNV-1a of its tag), so runs are alike. */
function answerDelay(tag: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193);
  return 50 + ((h >>> 0) % 101);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('three Baton servers on one Redis with AOF, under chaos', () => {
  const prefix = `chaos-${Math.random().toString(36).slice(2, 10)}:`;
  let dir = '';
  let redis: Running | undefined;
  let dog: number | undefined;
  let dest: RecordingDestination | undefined;
  const servers: Array<MainProcess | undefined> = [];
  const redisUrl = (): string => `redis://127.0.0.1:${redis!.port}`;

  async function startServer(i: number): Promise<MainProcess> {
    const s = await runMain([
      '--redis',
      redisUrl(),
      '--redis-prefix',
      prefix,
      '--redis-lease',
      `${LEASE_MS / 1000}s`,
      '--shutdown-timeout',
      '0s',
    ]);
    servers[i] = s;
    return s;
  }

  async function startRedisHere(port?: number): Promise<void> {
    redis = await startRedis(dir, { appendOnly: true, ...(port !== undefined ? { port } : {}) });
    // Redis goes down with this process even if it dies without tearing down.
    dog = watchdog(redis.child.pid ?? 0).pid;
  }

  async function stopRedisHere(): Promise<void> {
    if (redis !== undefined) await stopRedis(redis.child);
    if (dog !== undefined) killGroup(dog);
    dog = undefined;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'baton-chaos-'));
    await startRedisHere();
    dest = await startRecordingDestination(answerDelay);
    await Promise.all(Array.from({ length: SERVERS }, (_, i) => startServer(i)));
  }, 30_000);

  afterAll(async () => {
    // SIGKILL: nothing is left to finish, and a failed run must not wait on anything.
    for (const s of servers) {
      s?.child.kill('SIGKILL');
      await s?.exited;
    }
    await dest?.close();
    await stopRedisHere();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('delivers every message through a kill -9 and restart, within every limit', async () => {
    const d = dest!;
    const tap = await tapEvents(redisUrl(), prefix);
    // The destination runs in this process: its own lag shows up in the times it records.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    try {
      const began = preciseNow();
      const accepted = await publishBurst(d.url);
      expect(accepted.size).toBe(MESSAGES);
      const published = preciseNow();

      const answered = (): number =>
        d.attempts.filter((a) => a.end !== null && !a.abandoned).length;
      await d.until(
        () => answered() >= KILL_AFTER,
        30_000,
        () => `${answered()} answered`,
      );
      const openBefore = d.openCount();
      const killAt = preciseNow();
      servers[VICTIM]!.child.kill('SIGKILL');
      await servers[VICTIM]!.exited;
      const dead = preciseNow();
      await sleep(1_000);
      await startServer(VICTIM);
      const restarted = preciseNow();

      const answeredIds = (): number =>
        new Set(d.attempts.filter((a) => a.end !== null && !a.abandoned).map((a) => a.id)).size;
      await d.until(
        // The set is built only once enough attempts were answered: the check runs at every one.
        () => answered() >= MESSAGES && answeredIds() >= MESSAGES,
        45_000,
        () => `${answeredIds()} of ${MESSAGES} messages answered`,
      );
      // A message answered just before the kill comes again once its lease runs out: wait for
      // Redis to hold nothing in flight or waiting before judging.
      await drained(servers[0]!.base, 15_000);
      const ended = preciseNow();

      const report = deliveryReport(accepted, d.attempts);
      const byId = groupBy(d.attempts, (a) => a.id);
      const retriedAttempts = d.attempts.filter((a) => a.retried > 0);
      const most = mostInFlightByKey(d.attempts);
      const latency = grantToArrival(tap.starts, d.attempts);
      const victimKeys = new Set(
        Array.from({ length: KEYS / SERVERS }, (_, j) => keyName(j * SERVERS + VICTIM)),
      );
      const expiredIds = new Set(tap.expired.map((e) => e.id));
      const keyOf = new Map(d.attempts.map((a) => [a.id, a.key]));
      const firstExpiry = Math.min(...tap.expired.map((e) => e.at));
      const lastBeforeKill = Math.max(
        ...d.attempts.filter((a) => victimKeys.has(a.key) && a.start < killAt).map((a) => a.start),
      );
      // How long the killed server's keys had nothing arriving once it was gone: its tokens
      // wait for their leases.
      const stalled = Math.min(
        ...d.attempts.filter((a) => victimKeys.has(a.key) && a.start > dead).map((a) => a.start),
      );
      // A message answered before the kill but delivered again: the answer reached the server
      // (or was on its way) and it died before telling Redis. How long before the kill, at most.
      const answeredBefore = Math.max(
        0,
        ...report.duplicates.map((x) => killAt - x.attempts.find((a) => !a.abandoned)!.end!),
      );
      const rateChecks = Array.from({ length: KEYS }, (_, k) => k)
        .filter(rated)
        .map((k) => rateCheck(keyName(k), tap.starts, d.attempts, latency.byAttempt));
      console.log(
        [
          `chaos: ${MESSAGES} messages published in ${ms(published - began)}; kill -9 of ` +
            `server ${VICTIM} at +${ms(killAt - began)} with ${openBefore} deliveries open at the ` +
            `destination (process gone ${ms(dead - killAt)} later), restarted at ` +
            `+${ms(restarted - began)}; all delivered and drained at +${ms(ended - began)}`,
          `  attempts ${d.attempts.length}; abandoned by the kill ${report.abandoned.length}; ` +
            `leases expired ${tap.expired.length}; attempts with Upstash-Retried > 0 ` +
            `${retriedAttempts.length}; duplicates (answered twice) ${report.duplicates.length}` +
            (report.duplicates.length > 0
              ? `, their first answer up to ${ms(answeredBefore)} before the kill`
              : ''),
          `  the killed server's keys: its last delivery arrived ${ms(killAt - lastBeforeKill)} ` +
            `before the kill; first lease expired ${ms(firstExpiry - killAt)} after the ` +
            `kill; nothing arrived for ${ms(stalled - killAt)} after it`,
          `  most in flight per key at the destination: ${summarize([...most.values()])}`,
          `  grant in Redis to arrival: p50 ${ms(latency.p(0.5))}, p99 ${ms(latency.p(0.99))}, ` +
            `max ${ms(latency.p(1))} (this process's own event-loop delay: p99 ` +
            `${ms(lag.percentile(99) / 1e6)}, max ${ms(lag.max / 1e6)})`,
          ...rateChecks.map(
            (r) =>
              `  ${r.key}: most grants in one window ${r.grantsMost}; by arrival ${r.arrivalsMost}, ` +
              `${r.overruns.length} over ${RATE} allowing each its own grant-to-arrival time`,
          ),
        ].join('\n'),
      );

      // Every accepted message was answered; nothing arrived that was not published.
      expect(report.missing).toEqual([]);
      expect(report.unknown).toEqual([]);
      // The kill cut deliveries off (else this tests nothing: Redis saw their leases expire;
      // the destination may have answered them all, the server too slow to record it), and
      // only the kill cut any off.
      expect(tap.expired.length).toBeGreaterThan(0);
      for (const a of report.abandoned) {
        expect(a.start).toBeLessThan(dead);
        expect(a.end!).toBeGreaterThanOrEqual(killAt);
        expect(a.end!).toBeLessThan(restarted);
      }
      // Only the killed server's leases expired, after the kill (a live server kept its own
      // renewed), at most one per token it held; every message delivered again had its lease
      // expire.
      const expiries = JSON.stringify(
        tap.expired.map((e) => ({
          id: e.id,
          key: keyOf.get(e.id),
          afterKill: Math.round(e.at - killAt),
          grants: tap.starts
            .filter((g) => g.id === e.id)
            .map((g) => ({ attempt: g.attempt, afterKill: Math.round(g.at - killAt) })),
        })),
      );
      // The killed server mostly holds its own keys' tokens, but a token of another key it took
      // when it happened to be free is its too (a finishing server hands its token on and delivers
      // itself): what expires is bounded by all the tokens, and each one was granted before the kill.
      expect(tap.expired.length, expiries).toBeLessThanOrEqual(KEYS * PARALLELISM);
      for (const e of tap.expired) expect(e.at, expiries).toBeGreaterThan(killAt);
      for (const e of tap.expired) {
        const first = tap.starts.find((g) => g.id === e.id && g.attempt === 0);
        // Redis's time against this process's, and a SIGKILL that lands a moment after it is
        // sent: a grant up to 100 ms after `killAt` can still be the dying server's.
        expect(first !== undefined && first.at < killAt + 100, expiries).toBe(true);
      }
      for (const a of retriedAttempts) expect(expiredIds.has(a.id)).toBe(true);
      // Its keys went on within a lease and a renewal of the kill (and a second of lag: under
      // this load a server runs up to ~0.9 s behind, see the grant-to-arrival times).
      expect(stalled - killAt).toBeLessThan(LEASE_MS + RENEW_MS + 1_000);
      // Every message cut off came again, once its lease was gone, as a next attempt.
      const expiredAt = new Map(tap.expired.map((e) => [e.id, e.at]));
      for (const a of retriedAttempts) expect(a.start).toBeGreaterThan(expiredAt.get(a.id)! - 2);
      for (const list of byId.values()) {
        if (list.some((a) => a.abandoned)) {
          expect(list.filter((a) => !a.abandoned)).toHaveLength(1);
          expect(list.at(-1)!.retried).toBeGreaterThan(0);
        }
      }
      // Duplicates only for messages in flight at the kill (begun before it, and their lease
      // expired), the later one a next attempt.
      for (const dup of report.duplicates) {
        expect(expiredIds.has(dup.id), JSON.stringify(dup)).toBe(true);
        expect(dup.attempts[0]!.start).toBeLessThan(dead);
        const retried = dup.attempts.map((a) => a.retried);
        expect(new Set(retried).size).toBe(retried.length);
      }
      // Parallelism 3 held across the three servers at every instant, at the destination.
      expect(Math.max(...most.values())).toBeLessThanOrEqual(PARALLELISM);
      expect([...most.values()].filter((n) => n === PARALLELISM).length).toBeGreaterThan(KEYS / 2);
      // No rate window over its rate.
      for (const r of rateChecks) {
        expect(r.grantsMost, r.key).toBeLessThanOrEqual(RATE);
        expect(r.overruns, r.key).toEqual([]);
      }
    } finally {
      lag.disable();
      await tap.close();
    }
  }, 90_000);

  it('delivers the delayed messages after every server and Redis restart from the AOF', async () => {
    const d = dest!;
    const delayed = new Map<string, number>();
    await Promise.all(
      Array.from({ length: DELAYED }, async (_, i) => {
        const s = servers[i % SERVERS]!;
        const k = i % KEYS;
        const at = Date.now();
        const res = await fetch(`${s.base}/v2/publish/${d.url}/k/${keyName(k)}`, {
          method: 'POST',
          headers: {
            'Upstash-Flow-Control-Key': keyName(k),
            'Upstash-Flow-Control-Value': flowValue(k),
            'Upstash-Delay': `${DELAY_MS / 1000}s`,
          },
          body: `delayed${i}`,
        });
        expect(res.status).toBe(200);
        delayed.set(((await res.json()) as { messageId: string }).messageId, at);
      }),
    );
    const kept = await keepEverythingElse(d.url, (i) => servers[i % SERVERS]!.base);
    const stopping = Date.now();
    await Promise.all(servers.map((s) => s!.stop()));
    const port = redis!.port;
    await stopRedisHere();
    const arrivedEarly = d.attempts.filter((a) => delayed.has(a.id));
    await startRedisHere(port);
    const redisBack = preciseNow();
    await Promise.all(Array.from({ length: SERVERS }, (_, i) => startServer(i)));
    const serversBack = Date.now();

    const ofDelayed = (): Attempt[] => d.attempts.filter((a) => delayed.has(a.id));
    await d.until(
      () =>
        new Set(
          ofDelayed()
            .filter((a) => a.end !== null)
            .map((a) => a.id),
        ).size === DELAYED,
      20_000,
      () => `${new Set(ofDelayed().map((a) => a.id)).size} of ${DELAYED} delayed messages arrived`,
    );
    console.log(
      `chaos: ${DELAYED} messages delayed ${DELAY_MS} ms; servers back ` +
        `${serversBack - stopping} ms after their stop and Redis's; the last delayed one ` +
        `delivered ${ms(Math.max(...ofDelayed().map((a) => a.start)) - stopping)} after it`,
    );

    expect(arrivedEarly).toEqual([]);
    for (const a of ofDelayed()) {
      expect(a.start).toBeGreaterThanOrEqual(delayed.get(a.id)! + DELAY_MS - 5);
      expect(a.start).toBeGreaterThan(redisBack);
      expect(a.retried).toBe(0);
    }
    expect(ofDelayed()).toHaveLength(DELAYED);
    await kept.check();
  }, 60_000);

  /**
   * 3,000 messages in batches of 100, each server sending a third of them. A key's tokens stay
   * with the server that took them first (a finishing delivery hands its token on in its own
   * server), so server i publishes keys ≡ i (mod 3) first, and each server delivers a third of
   * the keys; then it publishes the next server's keys, so every key takes messages from two
   * servers. Publishing ends before the kill: a publish cut by a kill is one the client cannot
   * account for. Answers the accepted message ids.
   */
  async function publishBurst(url: string): Promise<Set<string>> {
    const accepted = new Set<string>();
    const perKey = MESSAGES / KEYS;
    const itemsOf = (lane: number, half: number) =>
      Array.from({ length: KEYS / SERVERS }, (_, j) => j * SERVERS + ((lane + half) % SERVERS))
        .flatMap((k) =>
          Array.from({ length: perKey / 2 }, (_, n) => ({ k, n: half * (perKey / 2) + n })),
        )
        .sort((x, y) => x.n - y.n || x.k - y.k)
        .map(({ k, n }) => ({
          destination: `${url}/k/${keyName(k)}`,
          headers: {
            'Upstash-Flow-Control-Key': keyName(k),
            'Upstash-Flow-Control-Value': flowValue(k),
            'Content-Type': 'text/plain',
          },
          body: `${keyName(k)}#${n}`,
        }));
    // The second half waits for the first: else a server could reach the next server's keys
    // before that server took their tokens.
    for (const half of [0, 1]) {
      await Promise.all(
        Array.from({ length: SERVERS }, async (_, lane) => {
          const items = itemsOf(lane, half);
          for (let b = 0; b < items.length; b += BATCH) {
            const res = await fetch(`${servers[lane]!.base}/v2/batch`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(items.slice(b, b + BATCH)),
            });
            expect(res.status).toBe(200);
            for (const r of (await res.json()) as Array<{ messageId: string }>) {
              accepted.add(r.messageId);
            }
          }
        }),
      );
    }
    return accepted;
  }
});

/** Waits until no key has a delivery in flight or a message waiting, asking a server. */
async function drained(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const keys = (await (await fetch(`${base}/v2/flowControl`)).json()) as Array<{
      flowControlKey: string;
      parallelismCount: number;
      waitListSize: number;
    }>;
    const busy = keys.filter((k) => k.parallelismCount > 0 || k.waitListSize > 0);
    if (busy.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`not drained after ${timeoutMs} ms: ${JSON.stringify(busy)}`);
    }
    await sleep(100);
  }
}

const attemptId = (id: string, attempt: number): string => `${id}/${attempt}`;

/** Each attempt's time from its grant in Redis to its arrival at the destination. */
function grantToArrival(starts: readonly Start[], attempts: readonly Attempt[]) {
  const grantAt = new Map(starts.map((s) => [attemptId(s.id, s.attempt), s.at]));
  const byAttempt = new Map<Attempt, number>();
  for (const a of attempts) {
    const at = grantAt.get(attemptId(a.id, a.retried));
    if (at !== undefined) byAttempt.set(a, a.start - at);
  }
  const sorted = [...byAttempt.values()].sort((x, y) => x - y);
  return {
    byAttempt,
    p: (q: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0,
  };
}

/**
 * One rated key's windows. The grid is Redis's (every grant carries its window's start; the
 * windows follow each other from the key's creation, so any one gives them all). Checked twice:
 * Redis's grants per window, and the destination's arrivals, each allowed to have started as
 * long before it arrived as its own grant did (or 100 ms when its grant was not heard).
 */
function rateCheck(
  key: string,
  starts: readonly Start[],
  attempts: readonly Attempt[],
  latency: ReadonlyMap<Attempt, number>,
) {
  const grants = starts.filter((s) => s.key === key);
  const windowStart = grants[0]?.ratePeriodStart;
  if (windowStart === undefined) throw new Error(`no rated grant heard for ${key}`);
  for (const g of grants) expect((g.ratePeriodStart! - windowStart) % PERIOD_MS).toBe(0);
  const grid = { windowStart, periodMs: PERIOD_MS, rate: RATE };
  const byGrant = checkRate(
    grants.map((g) => g.at),
    grid,
    0,
  );
  const arrivals = attempts.filter((a) => a.key === key);
  const slack = Math.max(100, ...arrivals.map((a) => latency.get(a) ?? 0));
  const byArrival = checkRate(
    arrivals.map((a) => a.start),
    grid,
    slack,
  );
  return {
    key,
    grantsMost: byGrant.strictMost,
    arrivalsMost: byArrival.strictMost,
    overruns: byArrival.overruns,
  };
}

const ms = (n: number): string => `${Math.round(n)} ms`;

function summarize(values: number[]): string {
  return [...groupBy(values, String)]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([v, list]) => `${list.length} keys at ${v}`)
    .join(', ');
}

/** Kills a detached process group (the Redis watchdog and its `sleep`). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
