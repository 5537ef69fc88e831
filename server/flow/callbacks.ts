/**
 * Callbacks (`Upstash-Callback`, `Upstash-Failure-Callback`): when a message is delivered, or
 * fails for good, a message carrying what its destination answered is published to the callback
 * URL. A Workflow's `context.call` is one (its answer goes back to the run, even on failure).
 *
 * On one server (memory) the publishing server keeps each message's callbacks and the last
 * answer. With several servers on Redis the server that accepted a message is often not the one
 * that delivers it, and may be gone: the callbacks are written with the message's document in the
 * shared log, and the server that ran the message's final attempt (it has the answer and the
 * payload) publishes the callback, after claiming it in the log so it is published once.
 */
import { isMessageEnd, type EngineEvent, type MessageEnded } from '../../shared/events';
import type { MessageId, Millis } from '../../shared/engine/units';
import { bodyText, bytesToBase64 } from '../../shared/protocol/body';
import {
  parsePublish,
  type HeaderBag,
  type MessagePayload,
  type ParsedPublish,
} from '../../shared/protocol/publish';
import type { CallType } from '../../shared/protocol/workflow';
import { after, attempt, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';
import { dlqIdOf, type MessageLog, type SharedMessageLog } from './message-log';
import type { Delivery } from './types';
import type { Workflows } from './workflows';

/** What a destination answered (http), kept for the callback that may follow. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A message's callbacks, as the shared log keeps them. */
export interface CallbackSpec {
  callback?: { url: string; headers: HeaderBag };
  failureCallback?: { url: string; headers: HeaderBag };
  workflow?: { runId: string; callType: CallType };
  retries?: number;
}

/** The callbacks of a publish, if it has any. */
export function callbackSpecOf(parsed: ParsedPublish): CallbackSpec | undefined {
  if (parsed.callback === undefined && parsed.failureCallback === undefined) return undefined;
  const wf = parsed.workflow;
  return {
    ...(parsed.callback !== undefined ? { callback: parsed.callback } : {}),
    ...(parsed.failureCallback !== undefined ? { failureCallback: parsed.failureCallback } : {}),
    ...(wf !== undefined ? { workflow: { runId: wf.runId, callType: wf.callType } } : {}),
    ...(parsed.input.retries !== undefined ? { retries: parsed.input.retries } : {}),
  };
}

/** A message with callbacks, on the server that accepted it (memory). */
interface Pending {
  spec: CallbackSpec;
  payload: MessagePayload;
  answer?: Answer;
}

/** An attempt this server ran (Redis): its callbacks are published here if it was the last. */
interface Ran {
  attempt: number;
  payload: MessagePayload;
  answer?: Answer;
}

/** What a callback's body is made of. */
interface Source {
  id: MessageId;
  spec: CallbackSpec;
  payload: MessagePayload;
  answer: Answer | undefined;
  status: number;
  retried: number;
  createdAt: Millis;
  dlqId: string | undefined;
}

export interface CallbacksOptions {
  /** This process's log (memory): a message's attempts, creation and dead-letter id. */
  log: MessageLog;
  /** The log every server shares (Redis); its presence selects the shared way. */
  shared?: SharedMessageLog;
  workflows: Workflows;
  /** The publisher's `publish`, late-bound. */
  publish: () => (parsed: ParsedPublish) => MaybePromise<{ messageId: MessageId }>;
  now: () => Millis;
}

export class Callbacks {
  private readonly pending = new Map<MessageId, Pending>();
  private readonly ran = new Map<MessageId, Ran>();

  constructor(private readonly options: CallbacksOptions) {}

  /**
   * A message is being accepted: on one server its callbacks are kept here; with a shared log
   * they are returned, for the log to keep with the message.
   */
  accepted(id: MessageId, parsed: ParsedPublish): CallbackSpec | undefined {
    const spec = callbackSpecOf(parsed);
    if (spec !== undefined && this.options.shared === undefined)
      this.pending.set(id, { spec, payload: parsed.payload });
    return spec;
  }

  /** The message was not accepted after all. */
  discard(id: MessageId): void {
    this.pending.delete(id);
  }

  /** An attempt begins on this server (shared log only: it may be the last). */
  attempting(delivery: Delivery): void {
    if (this.options.shared === undefined) return;
    this.ran.set(delivery.id, { attempt: delivery.attempt, payload: delivery.payload });
  }

  /** What a destination answered an attempt. */
  answered(delivery: Delivery, answer: Answer): void {
    const p = this.pending.get(delivery.id);
    if (p !== undefined) p.answer = answer;
    const r = this.ran.get(delivery.id);
    if (r !== undefined && r.attempt === delivery.attempt) r.answer = answer;
  }

  /** Follows the store: every batch of events, in order. */
  follow(events: readonly EngineEvent[]): void {
    if (this.options.shared !== undefined) {
      this.followShared(events, this.options.shared);
      return;
    }
    for (const e of events) {
      if (!isMessageEnd(e)) continue;
      const p = this.pending.get(e.messageId);
      if (p === undefined) continue;
      this.pending.delete(e.messageId);
      if (e.type === 'message:cancelled') continue;
      const m = this.options.log.get(e.messageId);
      const last = m?.attempts[m.attempts.length - 1];
      this.publish(e.type === 'message:delivered', {
        id: e.messageId,
        spec: p.spec,
        payload: p.payload,
        answer: p.answer,
        status: p.answer?.status ?? last?.status ?? 0,
        retried: last?.attempt ?? 0,
        createdAt: m?.createdAt ?? e.at,
        dlqId: m?.dlqId,
      });
    }
  }

  private followShared(events: readonly EngineEvent[], shared: SharedMessageLog): void {
    // An end comes in the batch of the attempt that ended it (the same `finish`).
    let ended: Map<MessageId, { attempt: number; status: number | undefined }> | undefined;
    // The batch's ends this server ran, whose callbacks (if any) it takes in one call.
    const mine: Array<{ e: MessageEnded; r: Ran; status: number | undefined }> = [];
    for (const e of events) {
      if (e.type === 'delivery:succeeded' || e.type === 'delivery:failed') {
        if (this.ran.has(e.messageId))
          (ended ??= new Map()).set(e.messageId, { attempt: e.attempt, status: e.status });
        continue;
      }
      if (!isMessageEnd(e)) continue;
      const r = this.ran.get(e.messageId);
      if (r === undefined) continue;
      this.ran.delete(e.messageId);
      const final = ended?.get(e.messageId);
      if (e.type === 'message:cancelled' || final === undefined || final.attempt !== r.attempt)
        continue;
      mine.push({ e, r, status: final.status });
    }
    if (mine.length === 0) return;
    shared.takeCallbacks(mine.map((m) => m.e.messageId)).then(
      (taken) =>
        mine.forEach(({ e, r, status }, i) => {
          const t = taken[i];
          if (t === undefined) return;
          this.publish(e.type === 'message:delivered', {
            id: e.messageId,
            spec: t.spec,
            payload: r.payload,
            answer: r.answer,
            status: r.answer?.status ?? status ?? 0,
            retried: r.attempt,
            createdAt: t.createdAt,
            dlqId: e.type === 'message:dead-lettered' ? dlqIdOf(e.messageId) : undefined,
          });
        }),
      () => {},
    );
  }

  /** Publishes the callback a message's end calls for, if it has one. */
  private publish(delivered: boolean, s: Source): void {
    // A context.call hands its answer back to the run even when it failed for good.
    const answersRun = s.spec.workflow?.callType === 'toCallback';
    const target = delivered || answersRun ? s.spec.callback : s.spec.failureCallback;
    if (target === undefined) return;
    const base = callbackBody(s);
    const headers: HeaderBag = { ...target.headers, 'content-type': 'application/json' };
    const wf = target === s.spec.failureCallback ? s.spec.workflow : undefined;
    // Published after this batch has reached every listener, so events stay in seq order.
    queueMicrotask(() => {
      void attempt(
        () =>
          chain(this.runFields(s.spec), (run) => {
            const body = JSON.stringify({ ...base, ...run });
            const published = this.options.publish()(
              parsePublish(target.url, headers, body, this.options.now()),
            );
            return after(published, ({ messageId }) => ({ messageId, body }));
          }),
        ({ messageId, body }) => {
          if (wf === undefined) return;
          quietly(
            this.options.workflows.failureCallbackPublished(
              wf.runId,
              { messageId, url: target.url, headers, body },
              answerOf(s.answer),
            ),
          );
        },
        // A callback whose own headers are invalid cannot be delivered; its source is already ended.
        () => {},
      );
    });
  }

  /**
   * A failed Workflow call tells the failure function its run, and the run's initial payload (its
   * run read again, from Redis with --redis; without it when that fails).
   */
  private runFields(spec: CallbackSpec): MaybePromise<Record<string, unknown>> {
    const runId = spec.workflow?.runId;
    if (runId === undefined || spec.workflow?.callType === 'toCallback') return {};
    return attempt(
      () => this.options.workflows.get(runId),
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

/** The callback's body, but for its run's fields (`runFields`, read when it is published). */
function callbackBody(s: Source): Record<string, unknown> {
  const src = s.payload;
  const header: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(s.answer?.headers ?? {})) header[k] = [v];
  return {
    status: s.status,
    header,
    body: bytesToBase64(s.answer?.body),
    retried: s.retried,
    maxRetries: s.spec.retries ?? 3,
    sourceMessageId: s.id,
    url: src.destination,
    method: src.method,
    sourceHeader: Object.fromEntries(Object.entries(src.headers).map(([k, v]) => [k, [v]])),
    sourceBody: bytesToBase64(src.body),
    createdAt: String(s.createdAt),
    ...(s.dlqId !== undefined ? { dlqId: s.dlqId } : {}),
  };
}

function answerOf(answer: Answer | undefined) {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(answer?.headers ?? {})) headers[k] = [v];
  return { status: answer?.status ?? 0, headers, body: bodyText(answer?.body) };
}

/** Work whose failure has no one to tell: a rejection must not crash. */
function quietly(value: MaybePromise<unknown>): void {
  if (value instanceof Promise) value.catch(() => {});
}
