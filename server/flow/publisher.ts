import { createHash } from 'node:crypto';
import { isMessageEnd, type EngineEvent } from '../../shared/events';
import type { MessageId, Millis } from '../../shared/engine/units';
import { bodyText, bytesToBase64 } from '../../shared/protocol/body';
import { parsePublish, type HeaderBag, type ParsedPublish } from '../../shared/protocol/publish';
import type { FlowController } from './controller';
import { MemoryDedupIds, type DedupIds } from '../store/dedup';
import { after, attempt, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';
import type { MessageLog, SharedMessageLog } from './message-log';
import type { Admission, Workflows } from './workflows';

/** How long a deduplication id is remembered (QStash's OpenAPI: 10 minutes). */
export const DEDUP_WINDOW_MS = 10 * 60_000;

/** What a destination answered (http or simulated), kept for the callback that may follow. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

interface Pending {
  parsed: ParsedPublish;
  answer?: Answer;
}

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
  private readonly pending = new Map<MessageId, Pending>();

  constructor(
    private readonly controller: FlowController,
    private readonly log: MessageLog,
    private readonly newId: () => MessageId,
    private readonly workflows: Workflows,
    private readonly dedupIds: DedupIds = new MemoryDedupIds(() => controller.now()),
    /** The message log every server shares (Redis), written before the store takes a message. */
    private readonly shared?: SharedMessageLog,
  ) {
    controller.onEvents((events) => this.follow(events));
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
    const entry = this.log.accepted(
      id,
      input.key ?? null,
      payload,
      now,
      parsed.label,
      parsed.urlGroup,
    );
    if (parsed.callback !== undefined || parsed.failureCallback !== undefined)
      this.pending.set(id, { parsed });
    const forget = () => {
      this.pending.delete(id);
      this.log.discard(id);
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
          entry.handle = accepted.message;
          return { messageId: id };
        },
        undo,
      );
    // The shared log has the message before the store does: no event names one it lacks.
    const share = (): MaybePromise<PublishResult> =>
      this.shared === undefined
        ? take()
        : this.shared
            .accepted(id, input.key ?? null, payload, now, parsed.label, parsed.urlGroup)
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

  /** Keeps what a destination answered, for a callback that may follow. */
  answered(id: MessageId, answer: Answer): void {
    const p = this.pending.get(id);
    if (p !== undefined) p.answer = answer;
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

  private follow(events: readonly EngineEvent[]): void {
    for (const e of events) {
      if (!isMessageEnd(e)) continue;
      const p = this.pending.get(e.messageId);
      if (p === undefined) continue;
      this.pending.delete(e.messageId);
      if (e.type === 'message:cancelled') continue;
      // A context.call hands its answer back to the run even when it failed for good.
      const answersRun = p.parsed.workflow?.callType === 'toCallback';
      const target =
        e.type === 'message:delivered' || answersRun ? p.parsed.callback : p.parsed.failureCallback;
      if (target === undefined) continue;
      const base = this.callbackBody(e.messageId, p, e.at);
      const headers: HeaderBag = { ...target.headers, 'content-type': 'application/json' };
      const wf = target === p.parsed.failureCallback ? p.parsed.workflow : undefined;
      // Published after this batch has reached every listener, so events stay in seq order.
      queueMicrotask(() => {
        void attempt(
          () =>
            chain(this.runFields(p), (run) => {
              const body = JSON.stringify({ ...base, ...run });
              const published = this.publish(
                parsePublish(target.url, headers, body, this.controller.now()),
              );
              return after(published, ({ messageId }) => ({ messageId, body }));
            }),
          ({ messageId, body }) => {
            if (wf === undefined) return;
            quietly(
              this.workflows.failureCallbackPublished(
                wf.runId,
                { messageId, url: target.url, headers, body },
                answerOf(p),
              ),
            );
          },
          // A callback whose own headers are invalid cannot be delivered; its source is already ended.
          () => {},
        );
      });
    }
  }

  /** The callback's body, but for its run's fields (`runFields`, read when it is published). */
  private callbackBody(id: MessageId, p: Pending, at: Millis): Record<string, unknown> {
    const m = this.log.get(id);
    const src = p.parsed.payload;
    const last = m?.attempts[m.attempts.length - 1];
    const header: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(p.answer?.headers ?? {})) header[k] = [v];
    return {
      status: p.answer?.status ?? last?.status ?? 0,
      header,
      body: bytesToBase64(p.answer?.body),
      retried: last?.attempt ?? 0,
      maxRetries: p.parsed.input.retries ?? 3,
      sourceMessageId: id,
      url: src.destination,
      method: src.method,
      sourceHeader: Object.fromEntries(Object.entries(src.headers).map(([k, v]) => [k, [v]])),
      sourceBody: bytesToBase64(src.body),
      createdAt: String(m?.createdAt ?? at),
      ...(m?.dlqId !== undefined ? { dlqId: m.dlqId } : {}),
    };
  }

  /**
   * A failed Workflow call tells the failure function its run, and the run's initial payload (its
   * run read again, from Redis with --redis; without it when that fails).
   */
  private runFields(p: Pending): MaybePromise<Record<string, unknown>> {
    const runId = p.parsed.workflow?.runId;
    if (runId === undefined || p.parsed.workflow?.callType === 'toCallback') return {};
    return attempt(
      () => this.workflows.get(runId),
      (run) =>
        run === undefined
          ? {}
          : {
              workflowRunId: run.id,
              workflowCreatedAt: run.createdAt,
              url: run.url,
              sourceBody: run.steps[0]?.raw.body ?? '',
            },
      () => ({}),
    );
  }
}

function answerOf(p: Pending) {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(p.answer?.headers ?? {})) headers[k] = [v];
  return { status: p.answer?.status ?? 0, headers, body: bodyText(p.answer?.body) };
}

/** Work whose failure has no one to tell (a claim given back): a rejection must not crash. */
function quietly(value: MaybePromise<unknown>): void {
  if (value instanceof Promise) value.catch(() => {});
}
