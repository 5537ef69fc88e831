/**
 * `npx tsx bench/server/s2-history.ts [messages]`: what S2's shared history (the message log and
 * the logs, server/store/redis/messages.ts and delivery-logs.ts) costs Redis and Node per message,
 * without the flow store, the HTTP and the noise of a whole run: on a Redis of its own, each
 * message's document is written as a `POST /v2/batch` writes it (100 a tick), and its events as S2
 * makes them (accepted, waitlisted, acquired, succeeded, delivered) are applied in batches of 200,
 * through one follower as deployment.ts has it. Prints Redis's CPU (from /proc) and its commands'
 * time (`INFO commandstats`) per message, and this process's CPU per message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../../scripts/redis-server';
import type { EngineEvent } from '../../shared/events';
import { keyId, messageId, type Millis } from '../../shared/engine/units';
import { RedisDeliveryLogs } from '../../server/store/redis/delivery-logs';
import { RedisMessages } from '../../server/store/redis/messages';
import { StreamFollower } from '../../server/store/redis/stream-follower';
import { cpuSeconds } from './processes';
import { stopProcess, track } from './s2-processes';

const messages = Number(process.argv[2] ?? 20_000);
const EVENTS_PER_BATCH = 200;

const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-bench-history-'));
const redis = await startRedis(dir);
// Stopped with this process however it ends (a closed pipe kills it before `finally`).
track(redis.child);
try {
  const url = `redis://127.0.0.1:${redis.port}`;
  const prefix = 'bench-history:';
  const warn = (msg: string, err?: unknown) => console.warn(msg, err ?? '');
  const follower = new StreamFollower({ url, prefix, what: 'history', warn });
  // `ONLY=ml` or `ONLY=lg`: one part alone (the other is given no events).
  const only = process.env['ONLY'];
  const log = new RedisMessages({
    url,
    prefix,
    warn,
    follower: only === 'ml' ? undefined : follower,
  });
  const logs = new RedisDeliveryLogs({
    url,
    prefix,
    warn,
    follower: only === 'lg' ? undefined : follower,
  });
  log.start();
  logs.start();
  const stats = new Redis(url);
  const key = keyId('bench-s2');
  const payload = {
    destination: 'http://127.0.0.1:40000/run/1',
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'upstash-flow-control-key': 'bench-s2',
      'upstash-flow-control-value': 'parallelism=100',
    },
    body: new TextEncoder().encode('x'),
    timeoutMs: undefined,
    retryDelay: undefined,
    redact: undefined,
  };

  let seq = 0;
  const run = async (n: number, tag: string) => {
    const ids = Array.from({ length: n }, (_, i) => messageId(`msg_${tag}${i}`));
    for (let i = 0; i < n; i += 100)
      await Promise.all(
        ids.slice(i, i + 100).map((id) => log.accepted(id, key, payload, Date.now() as Millis)),
      );
    // Each message's events in S2's order: accepted and waitlisted together, then acquired, then
    // succeeded and delivered together; messages overlap as S2's do (100 in flight).
    const events: EngineEvent[] = [];
    const at = Date.now() as Millis;
    const e = (x: Record<string, unknown>) =>
      events.push({ seq: ++seq, at, key, ...x } as unknown as EngineEvent);
    for (let i = 0; i < n + 200; i++) {
      const a = ids[i];
      if (a !== undefined) {
        e({ type: 'message:accepted', messageId: a });
        e({ type: 'message:waitlisted', messageId: a, reason: 'parallelism', position: 1 });
      }
      const s = ids[i - 100];
      if (s !== undefined)
        e({ type: 'token:acquired', messageId: s, attempt: 0, inFlight: 100, waitedMs: 1 });
      const d = ids[i - 200];
      if (d !== undefined) {
        e({ type: 'delivery:succeeded', messageId: d, attempt: 0, status: 200, durationMs: 1 });
        e({ type: 'message:delivered', messageId: d });
      }
    }
    for (let i = 0; i < events.length; i += EVENTS_PER_BATCH) {
      const batch = events.slice(i, i + EVENTS_PER_BATCH);
      if (only !== 'lg') log.apply(batch);
      if (only !== 'ml') logs.apply(batch);
      await log.settled();
      await logs.settled();
    }
  };

  await run(2_000, 'warm');
  await stats.call('CONFIG', 'RESETSTAT');
  const redis0 = cpuSeconds(redis.child.pid);
  const node0 = process.cpuUsage();
  await run(messages, 'run');
  const node = process.cpuUsage(node0);
  const redisUs = ((cpuSeconds(redis.child.pid) - redis0) / messages) * 1e6;
  const info = String(await stats.call('INFO', 'commandstats'));
  console.log(
    `${messages} messages: Redis CPU ${redisUs.toFixed(1)} µs/message, this process ${((node.user + node.system) / messages).toFixed(1)} µs/message`,
  );
  for (const line of info.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m !== null && Number(m[3]) / messages >= 0.1)
      console.log(
        `  ${m[1]!.padEnd(10)} ${(Number(m[2]) / messages).toFixed(3).padStart(8)} calls ${(Number(m[3]) / messages).toFixed(1).padStart(7)} µs  per message`,
      );
  }
  await log.close();
  await logs.close();
  stats.disconnect();
} finally {
  await stopProcess(redis.child);
  rmSync(dir, { recursive: true, force: true });
}
