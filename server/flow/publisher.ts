import { createHash } from 'node:crypto';
import type { MessageId, Millis } from '../../shared/engine/units';
import type { ParsedPublish } from '../../shared/protocol/publish';
import type { FlowController } from './controller';
import { MemoryDedupIds, type DedupIds } from '../store/dedup';
import { attempt, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';
import type { MessageLog, SharedMessageLog } from './message-log';
import type { Admission, Workflows } from './workflows';
import { Callbacks, type Answer } from './callbacks';
import type { Delivery } from './types';

/** How long a deduplication id is remembered (QStash's OpenAPI: 10 minutes). */
export const DEDUP_WINDOW_MS = 10 * 60_000;

export interface PublishResult {
  messageId: MessageId;
  deduplicated?: true;
}

/**
 * Everything between a parsed publish and the engine: deduplication, Workflow runs (admitted by
 * `Workflows`), the message log, and the callbacks published when a message is delivered or fails
 * for good.
 */
export class Publisher {
  private readonly callbacks: Callbacks;

  constructor(
    private readonly controller: FlowController,
    private readonly log: MessageLog,
    private readonly newId: () => MessageId,
    private readonly workflows: Workflows,
    private readonly dedupIds: DedupIds = new MemoryDedupIds(() => controller.now()),
    /** The message log every server shares (Redis), written before the store takes a message. */
    private readonly shared?: SharedMessageLog,
  ) {
    this.callbacks = new Callbacks({
      log,
      ...(shared !== undefined ? { shared } : {}),
      workflows,
      publish: () => (parsed) => this.publish(parsed),
      now: () => controller.now(),
    });
    controller.onEvents((events) => this.callbacks.follow(events));
  }

  /**
   * Publishes one message. With a store that answers at once (memory) everything happens before
   * this returns; the message's handle is in the log before its delivery can end.
   */
  publish(request: ParsedPublish): MaybePromise<PublishResult> {
    const now = this.controller.now();
    const id = this.newId();
    const dedupId = this.dedupIdOf(request);
    if (dedupId === undefined) return this.accept(request, id, now);
    // Claimed before the message is accepted (so two servers accept one of two publishes at
    // once), given back when it is not accepted after all.
    const release = () => quietly(this.dedupIds.release(dedupId, id));
    const go = (holder: MessageId): MaybePromise<PublishResult> => {
      if (holder !== id) return { messageId: holder, deduplicated: true };
      return attempt(
        () => this.accept(request, id, now),
        (result) => {
          if (result.messageId !== id) release();
          return result;
        },
        (err) => {
          release();
          throw err;
        },
      );
    };
    const holder = this.dedupIds.claim(dedupId, id, DEDUP_WINDOW_MS);
    return holder instanceof Promise ? holder.then(go) : go(holder);
  }

  /** Admits a Workflow call, logs the message and gives it to the store. */
  private accept(request: ParsedPublish, id: MessageId, now: Millis): MaybePromise<PublishResult> {
    if (request.workflow === undefined) return this.enter(request, undefined, id, now);
    // Its run is read (in Redis with --redis), so a run started on any server is known.
    return chain(this.workflows.admit(request), (admission) =>
      admission.kind === 'duplicate'
        ? { messageId: admission.messageId, deduplicated: true as const }
        : this.enter(admission.parsed, admission.commit, id, now),
    );
  }

  /** Logs the message, records it under its run (`commit`), and gives it to the store. */
  private enter(
    parsed: ParsedPublish,
    commit: Extract<Admission, { kind: 'publish' }>['commit'] | undefined,
    id: MessageId,
    now: Millis,
  ): MaybePromise<PublishResult> {
    const { input, payload } = parsed;
    // With a shared log (Redis) the API reads that one: this process keeps no copy.
    const entry =
      this.shared === undefined
        ? this.log.accepted(id, input.key ?? null, payload, now, parsed.label, parsed.urlGroup)
        : undefined;
    const callbacks = this.callbacks.accepted(id, parsed);
    const forget = () => {
      this.callbacks.discard(id);
      if (entry !== undefined) this.log.discard(id);
    };
    const undo = (err: unknown): never => {
      forget();
      if (parsed.workflow !== undefined) quietly(this.workflows.discard(id, parsed.workflow.runId));
      if (this.shared !== undefined) quietly(this.shared.discard(id));
      throw err;
    };
    const take = () =>
      attempt(
        () => this.controller.publish({ id, ...input }, payload),
        (accepted) => {
          // A delivery never ends within the store's call (its end is a later task), so the
          // entry is still live here.
          if (entry !== undefined) entry.handle = accepted.message;
          return { messageId: id };
        },
        undo,
      );
    // The shared log has the message before the store does: no event names one it lacks.
    const share = (): MaybePromise<PublishResult> =>
      this.shared === undefined
        ? take()
        : this.shared
            .accepted(id, input.key ?? null, payload, now, parsed.label, parsed.urlGroup, callbacks)
            .then(take, undo);
    if (commit === undefined) return share();
    // Before the engine takes it: its delivery may start within `publish` and read the run's steps.
    return attempt<MessageId | null, MaybePromise<PublishResult>>(
      () => commit(id, now),
      (existing) => {
        if (existing === null) return share();
        // Another server started this run meanwhile: this trigger is a duplicate of its own.
        forget();
        return { messageId: existing, deduplicated: true };
      },
      undo,
    ) as MaybePromise<PublishResult>;
  }

  /** An attempt begins on this server (a callback may follow its end). */
  attempting(delivery: Delivery): void {
    this.callbacks.attempting(delivery);
  }

  /** Keeps what a destination answered, for a callback that may follow. */
  answered(delivery: Delivery, answer: Answer): void {
    this.callbacks.answered(delivery, answer);
  }

  private dedupIdOf(parsed: ParsedPublish): string | undefined {
    if (parsed.deduplicationId !== undefined) {
      // A publish to a URL group makes one message per endpoint, all with the same id: each is
      // deduplicated on its own, so the id counts per group and endpoint.
      const g = parsed.urlGroup;
      return g === undefined
        ? `id:${parsed.deduplicationId}`
        : `group:${g}\n${parsed.payload.destination}\n${parsed.deduplicationId}`;
    }
    if (!parsed.contentBasedDeduplication) return undefined;
    const h = createHash('sha256');
    h.update(parsed.payload.destination).update('\n').update(parsed.payload.method).update('\n');
    for (const [k, v] of Object.entries(parsed.payload.headers).sort()) h.update(`${k}:${v}\n`);
    if (parsed.payload.body !== undefined) h.update(parsed.payload.body);
    return `content:${h.digest('base64url')}`;
  }
}

/** Work whose failure has no one to tell (a claim given back): a rejection must not crash. */
function quietly(value: MaybePromise<unknown>): void {
  if (value instanceof Promise) value.catch(() => {});
}
