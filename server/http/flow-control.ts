import type { PinInput, UnpinInput } from '../../shared/engine/types';
import { MAX_PERIOD, keyId, ms, type KeyId } from '../../shared/engine/units';
import { parseFlowControlKey } from '../../shared/protocol/flow-control';
import type { FlowController } from '../flow/controller';
import { after, type MaybePromise } from '../store/flow-store';
import { toFlowControlInfo } from './flow-info';
import { HttpError, ok, type Reply } from './respond';

export const ACTIONS = ['pause', 'resume', 'pin', 'unpin', 'resetRate', 'reset'] as const;
export type KeyAction = (typeof ACTIONS)[number];

type Query = Record<string, string | undefined>;

/** Decodes a key taken raw from the path (it may hold `/`, spaces or non-ASCII, percent-encoded). */
export function decodeKey(raw: string): KeyId {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `flow-control key "${raw}" is not valid percent-encoding`);
  }
  // `$` names the global waitlist here (QStash lists it); every other key follows publish's rule.
  return key === '$' ? keyId(key) : parseFlowControlKey(key, 'flow-control key');
}

function positiveInt(name: string, raw: string): number {
  const t = raw.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1 || !Number.isSafeInteger(Number(t))) {
    throw new HttpError(400, `${name} must be a whole number ≥ 1, got "${raw}"`);
  }
  return Number(t);
}

function flag(name: string, raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const t = raw.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === '') return true;
  if (t === 'false' || t === '0') return false;
  throw new HttpError(400, `${name} must be true or false, got "${raw}"`);
}

/** `pin?parallelism=3&rate=20&period=120` (period in whole seconds, at most a week). */
export function parsePin(q: Query): PinInput {
  const pin: PinInput = {};
  if (q.parallelism !== undefined) pin.parallelism = positiveInt('parallelism', q.parallelism);
  if (q.rate !== undefined) pin.rate = positiveInt('rate', q.rate);
  if (q.period !== undefined) {
    const s = positiveInt('period', q.period);
    if (s * 1000 > MAX_PERIOD)
      throw new HttpError(400, `period must be at most 604800 seconds (1 week), got ${s}`);
    pin.periodMs = ms(s * 1000);
  }
  if (pin.parallelism === undefined && pin.rate === undefined && pin.periodMs === undefined) {
    throw new HttpError(400, 'pin needs at least one of parallelism, rate or period');
  }
  return pin;
}

export function parseUnpin(q: Query): UnpinInput {
  const unpin = { parallelism: flag('parallelism', q.parallelism), rate: flag('rate', q.rate) };
  if (!unpin.parallelism && !unpin.rate)
    throw new HttpError(400, 'unpin needs parallelism=true and/or rate=true');
  return unpin;
}

/** The management endpoints, framework-free. */
export function flowControlHandlers(controller: FlowController) {
  return {
    list(q: Query): MaybePromise<Reply> {
      const search = q.search?.toLowerCase();
      return after(controller.keys(), (keys) =>
        ok(
          keys
            .filter((k) => search === undefined || k.key.toLowerCase().includes(search))
            .map(toFlowControlInfo),
        ),
      );
    },
    get(key: KeyId): MaybePromise<Reply> {
      return after(controller.key(key), (k) => {
        if (k === undefined) throw new HttpError(404, `flow-control key "${key}" not found`);
        return ok(toFlowControlInfo(k));
      });
    },
    globalParallelism(): MaybePromise<Reply> {
      const key = controller.key(keyId('$'));
      const global = controller.global();
      const reply = (k: Awaited<typeof key>, g: Awaited<typeof global>) =>
        ok({
          parallelismMax: g.parallelism ?? 0,
          parallelismCount: g.inFlight,
          waitListSize: k?.waitListSize ?? 0,
        });
      return key instanceof Promise || global instanceof Promise
        ? Promise.all([key, global]).then(([k, g]) => reply(k, g))
        : reply(key, global);
    },
    action(key: KeyId, action: KeyAction, q: Query): MaybePromise<Reply> {
      const done = () => ok();
      switch (action) {
        case 'pause':
          return after(controller.pause(key), done);
        case 'resume':
          return after(controller.resume(key), done);
        case 'pin':
          return after(controller.pin(key, parsePin(q)), done);
        case 'unpin':
          return after(controller.unpin(key, parseUnpin(q)), done);
        case 'resetRate':
        case 'reset':
          return after(controller.resetRate(key), done);
      }
    },
  };
}
