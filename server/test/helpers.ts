import type { AddressInfo } from 'node:net';
import { QstashError } from '@upstash/qstash';
import pino from 'pino';
import { expect } from 'vitest';
import type { EngineEvent } from '../../shared/events';
import { createApp, type App, type AppOptions } from '../app';

export interface Running {
  app: App;
  base: string;
  close(): Promise<void>;
}

/** Starts the real app on an ephemeral loopback port. */
export async function startApp(options: Partial<AppOptions> = {}): Promise<Running> {
  const app = createApp({ log: pino({ level: 'silent' }), ...options });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const { port } = app.http.address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** Resolves with the first event matching `predicate` (tests wait for events, never sleep). */
export function nextEvent(app: App, predicate: (e: EngineEvent) => boolean): Promise<EngineEvent> {
  return new Promise((resolve) => {
    const off = app.controller.onEvents((events) => {
      const hit = events.find(predicate);
      if (hit !== undefined) {
        off();
        resolve(hit);
      }
    });
  });
}

/** Resolves once `count` events match `predicate`. */
export function collectEvents(
  app: App,
  predicate: (e: EngineEvent) => boolean,
  count: number,
): Promise<EngineEvent[]> {
  const seen: EngineEvent[] = [];
  return new Promise((resolve) => {
    const off = app.controller.onEvents((events) => {
      for (const e of events) if (predicate(e)) seen.push(e);
      if (seen.length >= count) {
        off();
        resolve(seen);
      }
    });
  });
}

/** Resolves once `n` messages of `key` are delivered; call it before publishing them. */
export const deliveredUnder = (app: App, key: string, n: number): Promise<EngineEvent[]> =>
  collectEvents(app, (e) => e.type === 'message:delivered' && e.key === key, n);

/** The error the official client threw for a refused request. */
export async function refusal(p: Promise<unknown>): Promise<QstashError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QstashError);
  return err as QstashError;
}
