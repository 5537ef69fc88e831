/**
 * What one waiting message costs in the whole server, against the engine alone (bench W3), and
 * whether a drain gives the memory back. In one process with `--expose-gc`:
 *
 * - engine: a FlowController over a FlowEngine, the key paused, `n` messages published with the
 *   payload a bodiless publish parses to (W3's shape, with a pause instead of a held token);
 * - server: `createApp` on a loopback port, the key paused, `n` messages published through
 *   `POST /v2/batch` (1,000 per request) to `sim://w`; heap growth after forced full GCs, per
 *   message; then the key resumed, every message delivered, and the heap measured again;
 * - retention: a message log and delivery logs with no budget hold `n` ended messages (each
 *   with a content type and a 100 B body; one attempt; three log entries): the heap they take
 *   against what they estimate they take (`retention.ts`'s constants), for the history without
 *   bodies, with them, and for the logs.
 *
 * Usage: `node --expose-gc --import tsx bench/server/waiting-memory.ts [n] [bodyBytes] [small]`
 * (`small`: history, dead letters and logs limited to 1 MiB each, so the per-message figure is the
 * live messages' alone; by default the logs keep each waiting message's CREATED entry up to
 * their 64 MiB), or `… waiting-memory.ts estimate [n]`.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MemoryStore } from '../../server/store/memory-store';
import { keyId, messageId } from '../../shared/engine/units';
import { createApp } from '../../server/app';
import { FlowController } from '../../server/flow/controller';
import { DeliveryLogs } from '../../server/flow/delivery-logs';
import { MessageLog } from '../../server/flow/message-log';
import { systemClock } from '../../server/flow/types';
import { parsePublish } from '../../shared/protocol/publish';
import { settledHeap } from '../workloads/common';

const KEY = 'w';
const BATCH = 1000;

async function engineOnly(n: number): Promise<number> {
  const controller = new FlowController({
    store: new MemoryStore(),
    clock: systemClock,
    deliverer: { deliver: () => Promise.resolve({ ok: true, status: 200 }) },
  });
  controller.pause(keyId(KEY));
  const before = await settledHeap();
  for (let i = 0; i < n; i++) {
    controller.publish(
      { id: messageId(`msg_${i}`), key: keyId(KEY) },
      { destination: 'sim://w?duration=0', method: 'POST', headers: {} },
    );
  }
  const after = await settledHeap();
  const waiting = controller.key(keyId(KEY))?.waitListSize;
  if (waiting !== n) throw new Error(`engine: ${waiting} of ${n} waiting`);
  controller.close();
  return (after - before) / n;
}

async function server(n: number, bodyBytes: number, small: boolean) {
  const limit = { maxBytes: 2 ** 20, maxAgeMs: null };
  const app = createApp({
    log: pino({ level: 'silent' }),
    ...(small
      ? {
          retention: {
            history: limit,
            keepBodies: false,
            deadLetters: limit,
            logs: { ...limit, maxBodyBytes: 65536 },
          },
        }
      : {}),
  });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(app.http.address() as AddressInfo).port}`;
  const post = async (path: string, body?: string) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', body: body ?? null });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  const body = 'x'.repeat(bodyBytes);
  const item = {
    destination: 'sim://w?duration=0',
    headers: { 'upstash-flow-control-key': KEY, 'upstash-flow-control-value': 'parallelism=100' },
    ...(bodyBytes > 0 ? { body } : {}),
  };
  const batch = JSON.stringify(Array.from({ length: BATCH }, () => item));
  // Warm up every path once (publish, deliver, logs), so the idle heap includes the code's own.
  await post('/v2/batch', batch);
  await drained(app.controller);
  const idle = await settledHeap();
  await post(`/v2/flowControl/${KEY}/pause`);
  const before = await settledHeap();
  for (let i = 0; i < n; i += BATCH) await post('/v2/batch', batch);
  const after = await settledHeap();
  const waiting = (await app.controller.key(keyId(KEY)))?.waitListSize;
  if (waiting !== n) throw new Error(`server: ${waiting} of ${n} waiting`);
  const t0 = performance.now();
  await post(`/v2/flowControl/${KEY}/resume`);
  await drained(app.controller);
  const drainMs = performance.now() - t0;
  const afterDrain = await settledHeap();
  await app.close();
  return {
    perWaiting: (after - before) / n,
    idleMB: idle / 2 ** 20,
    afterDrainMB: afterDrain / 2 ** 20,
    drainMs,
  };
}

/** Resolves once the key has nothing waiting and nothing in flight. */
async function drained(controller: FlowController): Promise<void> {
  for (;;) {
    const k = await controller.key(keyId(KEY));
    if (k === undefined || (k.waitListSize === 0 && k.inFlight === 0 && k.scheduled === 0)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Heap taken by `n` ended messages against the estimate, for one retained collection. */
async function estimate(n: number, what: 'history' | 'history+bodies' | 'logs') {
  const unbounded = { maxBytes: Infinity, maxAgeMs: null };
  const log = new MessageLog({
    history: unbounded,
    deadLetters: unbounded,
    keepBodies: what === 'history+bodies',
  });
  const controller = new FlowController({
    store: new MemoryStore(),
    clock: systemClock,
    deliverer: { deliver: () => Promise.resolve({ ok: true, status: 200 }) },
  });
  controller.onEvents((events) => log.apply(events));
  let logs: DeliveryLogs | undefined;
  const before = await settledHeap();
  if (what === 'logs') {
    logs = new DeliveryLogs(log, { limit: { ...unbounded, maxBodyBytes: 65536 } });
    const l = logs;
    controller.onEvents((events) => l.apply(events));
  }
  const headers = {
    'upstash-flow-control-key': KEY,
    'upstash-flow-control-value': 'parallelism=100',
    'content-type': 'application/json',
  };
  const body = JSON.stringify({ data: 'x'.repeat(89) });
  for (let i = 0; i < n; i++) {
    const { input, payload } = parsePublish('sim://w', headers, body, controller.now());
    const id = messageId(`msg_${String(i).padStart(20, '0')}`);
    const entry = log.accepted(id, input.key ?? null, payload, controller.now());
    entry.handle = controller.publish({ id, ...input }, payload).message;
    if (i % 1000 === 999) await drained(controller);
  }
  await drained(controller);
  const held = (await settledHeap()) - before;
  const estimated = logs !== undefined ? logs.bytes : log.retainedBytes.history;
  // For the logs, the history's share is measured apart and taken off.
  return { held, estimated, log, logs };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const bodyBytes = Number(process.argv[3] ?? 0);
  if (process.argv[2] === 'estimate') {
    const m = Number(process.argv[3] ?? 50_000);
    const h = await estimate(m, 'history');
    const hb = await estimate(m, 'history+bodies');
    const l = await estimate(m, 'logs');
    const f = (x: number) => (x / m).toFixed(0).padStart(5);
    process.stdout.write(
      [
        `${m.toLocaleString('en-US')} ended messages (content type, 100 B body, one attempt): bytes per message, heap vs estimate`,
        `history, no bodies:   heap ${f(h.held)}  estimate ${f(h.estimated)}`,
        `history, with bodies: heap ${f(hb.held)}  estimate ${f(hb.estimated)}`,
        `logs (3 entries):     heap ${f(l.held - h.held)}  estimate ${f(l.estimated)}`,
      ].join('\n') + '\n',
    );
    return;
  }
  const engine = await engineOnly(n);
  const small = process.argv[4] === 'small';
  const s = await server(n, bodyBytes, small);
  const f = (x: number) => x.toFixed(1);
  process.stdout.write(
    [
      `waiting messages: ${n.toLocaleString('en-US')}, body ${bodyBytes} B, retention ${small ? '1 MiB each' : 'defaults'}`,
      `engine alone:   ${f(engine)} B per waiting message`,
      `whole server:   ${f(s.perWaiting)} B per waiting message (${f(s.perWaiting / engine)}× the engine)`,
      `heap idle ${f(s.idleMB)} MB, after the drain ${f(s.afterDrainMB)} MB (drained in ${f(s.drainMs / 1000)} s)`,
    ].join('\n') + '\n',
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
