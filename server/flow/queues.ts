import type { FlowConfig } from '../../shared/engine/types';
import { keyId, type KeyId, type Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import type { FlowController } from './controller';
import { isValidName, NAME_HELP } from './names';
import { after, type MaybePromise } from '../store/flow-store';
import { jsonCodec, type Collection, type Records } from '../store/records';
import { updateRecord } from '../store/update-record';

/** A queue never upserted, or upserted without a parallelism, delivers one message at a time. */
export const DEFAULT_QUEUE_PARALLELISM = 1;

/** The flow-control key a queue's messages wait under (unless they bring their own). */
export function queueKey(name: string): KeyId {
  return keyId(`queue:${name}`);
}

/** A queue's name follows the rule of URL group names. */
export function isQueueName(raw: string): boolean {
  return isValidName(raw);
}

export function checkQueueName(name: string): void {
  if (!isQueueName(name))
    throw new InvalidRequest(`queue name "${name}" is not valid: use ${NAME_HELP}`);
}

/** A queue as stored: what the queue API set. Its waitlist is its key's, in the engine. */
export interface Queue {
  readonly name: string;
  readonly createdAt: Millis;
  updatedAt: Millis;
  parallelism: number;
  paused: boolean;
}

/** What `POST /v2/queues` asks for. */
export interface UpsertQueue {
  name: string;
  parallelism: number;
  paused: boolean;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Reads the body of `POST /v2/queues`: `{queueName, parallelism?, paused?}`. Like the official
 * client, an absent parallelism is 1 and an absent paused is false. Throws `InvalidRequest`.
 */
export function parseUpsertQueue(raw: unknown): UpsertQueue {
  if (!isObject(raw))
    throw new InvalidRequest(
      'body must be a JSON object like {"queueName": "q", "parallelism": 1}',
    );
  const { queueName, parallelism, paused } = raw;
  if (typeof queueName !== 'string')
    throw new InvalidRequest('queueName must be a string naming the queue');
  checkQueueName(queueName);
  const p = parallelism ?? DEFAULT_QUEUE_PARALLELISM;
  if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 1) {
    throw new InvalidRequest(
      `parallelism must be a whole number ≥ 1, got ${JSON.stringify(parallelism)}`,
    );
  }
  const s = paused ?? false;
  if (typeof s !== 'boolean')
    throw new InvalidRequest(`paused must be true or false, got ${JSON.stringify(paused)}`);
  return { name: queueName, parallelism: p, paused: s };
}

/**
 * QStash queues. A queue is a waitlist with a parallelism, which is exactly what a flow-control
 * key is: queue `q` is the key `queue:q`, its parallelism pinned there (so no message can change
 * it), its pause the key's pause, its lag the key's waitlist. The queue's own document (what the
 * queue API set) is kept in the records (this process's memory, or Redis shared by every server),
 * changed by compare-and-set (`updateRecord`). Every change is checked whole first: bad input
 * throws `InvalidRequest` and changes nothing.
 */
export class Queues {
  private readonly queues: Collection<Queue>;

  constructor(
    private readonly controller: FlowController,
    records: Records,
  ) {
    this.queues = records.collection('queues', jsonCodec<Queue>());
  }

  /** Creates or updates the queue from a `POST /v2/queues` body, and applies it to its key. */
  async upsert(raw: unknown): Promise<Queue> {
    const want = parseUpsertQueue(raw);
    const now = this.controller.now();
    const queue = await updateRecord(this.queues, want.name, (current) => {
      const next: Queue = {
        name: want.name,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
        parallelism: want.parallelism,
        paused: want.paused,
      };
      return { next, result: next };
    });
    // Paused before a raised parallelism could start anything, resumed after it is in place.
    const key = queueKey(queue.name);
    if (queue.paused) await this.controller.pause(key);
    await this.pinParallelism(queue);
    if (!queue.paused) await this.controller.resume(key);
    return queue;
  }

  /** A copy: changing it changes nothing stored. */
  get(name: string): MaybePromise<Queue | undefined> {
    return this.queues.get(name);
  }

  /** Every queue, in creation order. */
  list(): MaybePromise<Queue[]> {
    return this.queues.list();
  }

  /** Messages waiting under the queue's key (neither in flight nor delayed). */
  lag(name: string): MaybePromise<number> {
    return after(this.controller.key(queueKey(name)), (k) => k?.waitListSize ?? 0);
  }

  /** Stops new starts from the queue; false when unknown. */
  pause(name: string): Promise<boolean> {
    return this.setPaused(name, true);
  }

  /** Restarts the queue's starts; false when unknown. */
  resume(name: string): Promise<boolean> {
    return this.setPaused(name, false);
  }

  /**
   * Forgets the queue and unpins its key; its pending messages keep their place and go on with
   * the key's last parallelism (a paused queue's key is resumed, or they would wait for good).
   * False when unknown.
   */
  async delete(name: string): Promise<boolean> {
    // The document this call deleted, so `paused` is the one it had, not an older read's.
    const queue = await updateRecord(this.queues, name, (current) => ({
      next: undefined,
      result: current,
    }));
    if (queue === undefined) return false;
    const key = queueKey(name);
    await this.controller.unpin(key, { parallelism: true });
    if (queue.paused) await this.controller.resume(key);
    return true;
  }

  /**
   * The key and flow control a message enqueued to the queue without its own key waits under.
   * A queue enqueued to before it was upserted is created as QStash creates it: parallelism 1,
   * not paused; of two servers creating it at once, one does and the other uses its queue.
   * One read of the records when the queue exists. Throws `InvalidRequest` for a bad name.
   */
  async flowFor(name: string): Promise<{ key: KeyId; config: FlowConfig }> {
    const now = this.controller.now();
    let created = false;
    const queue = await updateRecord(this.queues, name, (current) => {
      created = current === undefined;
      if (current !== undefined) return { next: current, result: current };
      checkQueueName(name);
      const next: Queue = {
        name,
        createdAt: now,
        updatedAt: now,
        parallelism: DEFAULT_QUEUE_PARALLELISM,
        paused: false,
      };
      return { next, result: next };
    });
    if (created) await this.pinParallelism(queue);
    return { key: queueKey(name), config: { parallelism: queue.parallelism } };
  }

  private async setPaused(name: string, paused: boolean): Promise<boolean> {
    if ((await this.queues.get(name)) === undefined) return false;
    const key = queueKey(name);
    if (paused) await this.controller.pause(key);
    else await this.controller.resume(key);
    const now = this.controller.now();
    await updateRecord(this.queues, name, (current) => ({
      next:
        current === undefined || current.paused === paused
          ? current
          : { ...current, paused, updatedAt: now },
      result: undefined,
    }));
    return true;
  }

  /** Pins the queue's parallelism on its key, unless it already is (a pin restarts the rate window). */
  private async pinParallelism(queue: Queue): Promise<void> {
    const key = queueKey(queue.name);
    const k = await this.controller.key(key);
    if (k?.pinnedParallelism === true && k.parallelism === queue.parallelism) return;
    await this.controller.pin(key, { parallelism: queue.parallelism });
  }
}
