/**
 * Baton behind the closed loop's `Acquire`: a slot is a message accepted on the key with the
 * key's parallelism, held from its start (the store grants a token) to its finish. Any `FlowStore`
 * serves: W5 runs it on the Redis store, and on the memory store for scale.
 */
import { keyId, messageId } from '../../shared/engine/units';
import type { MessageHandle } from '../../shared/engine/types';
import type { FlowStore } from '../../server/store/flow-store';
import type { Acquire } from './closed-loop';

const PAYLOAD = { destination: 'sim://bench', method: 'POST', headers: {} };

export function batonAcquire(store: FlowStore, key: string, parallelism: number): Acquire {
  // An object rather than a Map: see `slots` in server/store/redis/announcements.ts.
  const waiting: Record<string, ((handle: MessageHandle) => void) | undefined> =
    Object.create(null);
  store.onStart((handle) => {
    const started = waiting[handle.id];
    delete waiting[handle.id];
    started?.(handle);
  });
  let n = 0;
  const k = keyId(key);
  const config = { parallelism };
  return async () => {
    const id = messageId(`w5-${++n}`);
    const started = new Promise<MessageHandle>((resolve) => (waiting[id] = resolve));
    await store.accept({ id, key: k, config }, PAYLOAD);
    const handle = await started;
    return async () => {
      await store.finish(handle, { ok: true, status: 200 });
    };
  };
}
