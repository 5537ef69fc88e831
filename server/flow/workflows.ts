import { isMessageEnd, type EngineEvent, type MessageEnded } from '../../shared/events';
import type { MessageHandle } from '../../shared/engine/types';
import type { MessageId, Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import {
  parsePublish,
  type HeaderBag,
  type MessagePayload,
  type ParsedPublish,
} from '../../shared/protocol/publish';
import type { CallType, RawStep } from '../../shared/protocol/workflow';
import { admit } from './workflow-admission';
import { endOfCall, EndQueue } from './workflow-ends';
import {
  ended,
  hasEnded,
  notFound,
  type Admission,
  type LiveCall,
  type PublishFn,
  type Run,
  type RunMessage,
  type WorkflowTag,
} from './workflow-run';
import { EndedRuns, RunRecords } from './workflow-records';
import { after, all, attempt, type MaybePromise } from '../store/flow-store';
import { MemoryRecords, type Records } from '../store/records';
import { chain } from '../store/update-record';
import type { MessageReads } from './message-log';
import { DEFAULT_RETENTION, type RetentionLimit } from './retention';
import type { Clock } from './types';
import { Background } from './background';

export type * from './workflow-run';

const encoder = new TextEncoder();

export interface WorkflowsOptions {
  /**
   * What runs read of their messages (a call's status and handle, to cancel it; its attempts and
   * headers, for the logs; the dead letters): the log every server shares on Redis, else this
   * process's.
   */
  messages: MessageReads;
  /** Where runs live (see `RunRecords`); this process's memory by default. */
  records?: Records;
  clock: Clock;
  /** Cancels a message (the controller's `cancel`). */
  cancel: (message: MessageHandle) => MaybePromise<unknown>;
  /** The Publisher's `publish`, late-bound (the Publisher is built with this). */
  publish: () => PublishFn;
  warn?: (msg: string, err?: unknown) => void;
  /** How many ended runs are kept, in bytes and age (the history's limits by default). */
  retention?: RetentionLimit;
}

/**
 * Workflow runs: the QStash side of `@upstash/workflow`. A run starts with its trigger
 * (`Upstash-Workflow-Init: true`); each step the SDK publishes is appended to the run's steps, and
 * each call to the endpoint carries the steps up to its own (see `payloadFor`). Later steps
 * inherit the run's flow control, retries and failure callback. The run ends when the SDK deletes
 * it (success or `context.cancel`), when a step fails for good, or when it is cancelled.
 *
 * Runs live in the records (see `RunRecords`), so any server answers for any run and a restart
 * loses none. Every server follows every end (`apply`); each transition is a compare-and-set from
 * the state it expects, so the server whose write lands makes it and has its effects (cancelling
 * the run's other calls, dropping its waiters, answering its invoker), once. Methods answer at
 * once on memory records and with promises on shared ones.
 */
export class Workflows {
  /** What the run logs and the Workflow dead-letter actions read of messages. */
  readonly messages: MessageReads;
  /** True when the runs are in records other servers share (Redis). */
  readonly shared: boolean;
  private readonly docs: RunRecords;
  private readonly endListeners: Array<(run: Run) => MaybePromise<void>> = [];
  private readonly ended: EndedRuns;
  private readonly clock: Clock;
  private readonly cancel: WorkflowsOptions['cancel'];
  private readonly publish: () => PublishFn;
  private readonly warn: (msg: string, err?: unknown) => void;
  /** The ends this server follows, in order. */
  private readonly ends: EndQueue;
  /** Work under way outside requests (an end's effects, reading the ended runs at start). */
  private readonly background: Background;

  constructor(options: WorkflowsOptions) {
    this.messages = options.messages;
    const records = options.records ?? new MemoryRecords();
    this.shared = records.kind !== 'memory';
    this.docs = new RunRecords(records);
    this.ended = new EndedRuns(options.retention ?? DEFAULT_RETENTION.history);
    this.clock = options.clock;
    this.cancel = options.cancel;
    this.publish = options.publish;
    this.warn = options.warn ?? (() => {});
    this.background = new Background((msg, err) => this.warn(msg, err));
    this.ends = new EndQueue(this.docs.messages, (e, doc) => this.followEnd(e, doc), this.warn);
    // Runs that ended before this server started count against its retention too.
    this.background.track('the ended workflow runs could not be read', () =>
      after(this.docs.list(), (runs) => {
        const done = runs.filter((r) => r.state !== 'RUN_STARTED');
        done.sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0));
        return all(done.map((r) => this.keepEnded(r, this.clock.now())));
      }),
    );
  }

  get(runId: string): MaybePromise<Run | undefined> {
    return this.docs.get(runId);
  }

  /** A run that exists, or a 404. */
  require(runId: string): MaybePromise<Run> {
    return after(this.docs.get(runId), (run) => {
      if (run === undefined) throw notFound(runId);
      return run;
    });
  }

  /** A run that exists and has not ended, or a 404/400. */
  requireActive(runId: string): MaybePromise<Run> {
    return after(this.require(runId), (run) => {
      if (run.state !== 'RUN_STARTED') throw hasEnded(run);
      return run;
    });
  }

  /** Every run, in the order they were triggered. */
  list(): MaybePromise<Run[]> {
    return this.docs.list();
  }

  /** Called when a run ends, on the server that ended it (waiters of the run are dropped this way). */
  onRunEnded(listener: (run: Run) => MaybePromise<void>): void {
    this.endListeners.push(listener);
  }

  /** Live messages of a run (for its logs' "next" steps). */
  *liveOf(run: Run): IterableIterator<{ id: MessageId; tag: WorkflowTag; callType: CallType }> {
    for (const c of run.live) yield { id: c.id, tag: tagFor(run.id, c), callType: c.callType };
  }

  /** Checks a Workflow message against its run and says how to publish it (see `admit`). */
  admit(parsed: ParsedPublish): MaybePromise<Admission> {
    return admit(this.docs, parsed);
  }

  /**
   * Forgets a message recorded by `commit` that the engine then refused: its live call, its step
   * when it is still the run's last, and the run itself when it was the trigger.
   */
  discard(id: MessageId, runId: string): MaybePromise<void> {
    const undone = this.docs.update(runId, (cur) => {
      const call = cur?.live.find((c) => c.id === id);
      if (cur === undefined || call === undefined) return { next: cur, result: undefined };
      let steps = cur.steps;
      const last = steps[steps.length - 1];
      if (call.index !== null && call.index === steps.length - 1 && last?.raw.messageId === id)
        steps = steps.slice(0, -1);
      if (steps.length === 0) return { next: undefined, result: undefined };
      return {
        next: { ...cur, steps, live: cur.live.filter((c) => c !== call) },
        result: undefined,
      };
    });
    return chain(undone, () => after(this.docs.messages.delete(id), () => {}));
  }

  /**
   * What a call to the endpoint carries: the run's steps up to its own (the SDK replays them), the
   * run's user headers and its creation time. Other messages are delivered as published, at once.
   */
  payloadFor(id: MessageId, payload: MessagePayload): MaybePromise<MessagePayload> {
    // Every Workflow message carries its run's id (the header is passed through).
    const runId = payload.headers['upstash-workflow-runid']?.trim();
    if (runId === undefined) return payload;
    return after(this.docs.get(runId), (run) => {
      const call = run?.live.find((c) => c.id === id);
      if (run === undefined || call === undefined) return payload;
      if (call.callType === 'toCallback') return payload;
      const headers = {
        ...run.userHeaders,
        ...payload.headers,
        'upstash-workflow-createdat': String(run.createdAt),
      };
      if (call.index === null) return { ...payload, headers };
      const raws = run.steps.slice(0, call.index + 1).map((s) => s.raw);
      return { ...payload, headers, body: encoder.encode(JSON.stringify(raws)) };
    });
  }

  /** The raw steps of a run, as `GET /v2/workflows/runs/{id}` answers them. */
  rawSteps(runId: string): MaybePromise<RawStep[]> {
    return after(this.require(runId), (run) => {
      if (run.state !== 'RUN_STARTED') throw hasEnded(run, 404);
      return run.steps.map((s) => s.raw);
    });
  }

  /**
   * `DELETE /v2/workflows/runs/{id}`: the SDK ends a run that returned (`cancel=false`, with its
   * result as the body) or cancelled itself (`cancel=true`).
   */
  end(runId: string, cancel: boolean, result: string | undefined, now: Millis): MaybePromise<void> {
    const done = this.docs.update(runId, (cur) => {
      if (cur === undefined) throw notFound(runId);
      if (cur.state !== 'RUN_STARTED') throw hasEnded(cur);
      const run =
        cancel || result === undefined
          ? ended(cur, cancel ? 'RUN_CANCELED' : 'RUN_SUCCESS', now)
          : ended({ ...cur, response: result }, 'RUN_SUCCESS', now);
      return { next: run, result: run };
    });
    return chain(done, (run) => this.afterEnd(run, now));
  }

  /**
   * Cancels an active run: its calls that have not started end, its waiters are dropped. False
   * when it is unknown or has ended (on another server, meanwhile).
   */
  cancelRun(runId: string, now: Millis): MaybePromise<boolean> {
    const done = this.docs.update<Run | null>(runId, (cur) => {
      if (cur === undefined || cur.state !== 'RUN_STARTED') return { next: cur, result: null };
      const run = ended(cur, 'RUN_CANCELED', now);
      return { next: run, result: run };
    });
    return chain(done, (run) =>
      run === null ? false : after(this.afterEnd(run, now), () => true),
    );
  }

  /** The failure callback a run's failed message published (recorded for logs and DLQ retry). */
  failureCallbackPublished(
    runId: string,
    callback: { messageId: MessageId; url: string; headers: HeaderBag; body: string },
    answer: { status: number; headers: Record<string, string[]>; body: string },
  ): MaybePromise<void> {
    return this.docs.update(runId, (cur) => {
      if (cur === undefined) return { next: cur, result: undefined };
      const { failureEnd, ...run } = cur;
      const state =
        failureEnd?.messageId === callback.messageId ? failureEnd.state : 'CALLBACK_INPROGRESS';
      const failure = {
        messageId: callback.messageId,
        url: callback.url,
        state,
        failStatus: answer.status,
        failResponse: answer.body,
        failHeaders: answer.headers,
        headers: callback.headers,
        body: callback.body,
      };
      return { next: { ...run, failure }, result: undefined };
    });
  }

  /**
   * Follows the engine: a run's messages end; a step that fails for good fails its run. Every
   * server follows every batch, in order; each end is a compare-and-set on its run, made once.
   */
  apply(events: readonly EngineEvent[]): void {
    const ends = events.filter(isMessageEnd);
    if (ends.length === 0) return;
    this.ends.push(ends);
  }

  /**
   * Publishes a failed run's message again (`dlq resume`) or its trigger (`dlq restart`, which
   * forgets every step but the initial payload), under the run's flow control unless `override`
   * gives other. The run is active again. `run` is the run as read, failed at its `dlqId`.
   */
  revive(
    run: Run,
    how: 'resume' | 'restart',
    override: Partial<Pick<Run, 'key' | 'config' | 'retries'>>,
  ): MaybePromise<void> {
    const revived = this.docs.update(run.id, (cur) => {
      const failed = cur?.failed;
      if (cur === undefined) throw notFound(run.id);
      if (cur.state !== 'RUN_FAILED' || failed === undefined || cur.dlqId !== run.dlqId)
        throw new InvalidRequest(`workflow run "${run.id}" has not failed (${cur.state})`);
      const { completedAt: _c, dlqId: _d, failed: _f, ...rest } = cur;
      const next: Run = {
        ...rest,
        ...override,
        state: 'RUN_STARTED',
        steps: how === 'restart' ? cur.steps.slice(0, 1) : cur.steps,
      };
      return { next, result: { next, failed } };
    });
    return chain(revived, ({ next, failed }) => {
      this.ended.remove(next.id);
      const payload = how === 'restart' ? next.trigger : failed.payload;
      const index = how === 'restart' ? 0 : failed.index;
      const callType = how === 'restart' ? 'step' : failed.callType;
      const published = this.publish()({
        input: {
          ...(next.key !== undefined ? { key: next.key } : {}),
          ...(next.config !== undefined ? { config: next.config } : {}),
          ...(next.retries !== undefined ? { retries: next.retries } : {}),
        },
        payload: { ...payload },
        contentBasedDeduplication: false,
        ...(next.failureCallback !== undefined ? { failureCallback: next.failureCallback } : {}),
        workflow: { runId: next.id, init: false, callType, invoke: false, revive: index },
      });
      return after(published, () => {});
    });
  }

  /** Publishes a run's failure callback again (`dlq callback`). */
  retryFailureCallback(run: Run): MaybePromise<void> {
    const f = run.failure;
    if (f === undefined)
      throw new InvalidRequest(`workflow run "${run.id}" has no failure callback to retry`);
    return after(
      this.publish()(parsePublish(f.url, f.headers, f.body, this.clock.now())),
      () => {},
    );
  }

  /** Resolves once the ends given to `apply` so far, and every end's effects, are done. */
  settled(): MaybePromise<void> {
    const following = this.ends.settled();
    const effects = this.background.settled();
    if (following === undefined && effects === undefined) return;
    return Promise.all([following, effects]).then(() => this.settled());
  }

  /** Waits for the work under way (following ends, their effects); the runs stay where they live. */
  close(): MaybePromise<void> {
    return this.settled();
  }

  /** One call's end: it leaves its run's live calls; a step that failed for good fails the run. */
  private followEnd(e: MessageEnded, doc: RunMessage): MaybePromise<void> {
    const failed = this.docs.update(doc.runId, (cur) => endOfCall(cur, e, doc));
    return chain(failed, (run) =>
      chain(this.docs.messages.delete(e.messageId), () =>
        run === null ? undefined : this.afterEnd(run, e.at),
      ),
    );
  }

  /**
   * What follows a run's end, on the server that ended it: its calls that have not started end
   * (one in flight runs to its end; a failed run's other branches stop at their next step, which
   * the run refuses), its waiters are dropped, its invoker gets its result, and the oldest ended
   * runs past the retention are forgotten. A failure here is told, never the caller's.
   */
  private afterEnd(run: Run, now: Millis): MaybePromise<void> {
    const work: Array<MaybePromise<void>> = [];
    const quietly = (what: string, fn: () => MaybePromise<unknown>) =>
      work.push(
        attempt(
          fn,
          () => {},
          (err) => this.warn(`${what} of run "${run.id}" failed`, err),
        ),
      );
    if (run.state !== 'RUN_FAILED') {
      for (const c of run.live) {
        if (c.callType === 'failureCall') continue;
        quietly('cancelling a call', () =>
          chain(this.messages.get(c.id), (m) =>
            m?.handle !== undefined && m.status !== 'in-flight' ? this.cancel(m.handle) : undefined,
          ),
        );
      }
    }
    for (const l of this.endListeners) quietly('the end', () => l(run));
    if (run.invoker !== undefined) this.answerInvoker(run);
    quietly('the retention', () => this.keepEnded(run, now));
    return after(all(work), () => {});
  }

  /** An invoked run ended: its result becomes the invoking run's `context.invoke` step. */
  private answerInvoker(run: Run): void {
    const inv = run.invoker!;
    const out = {
      ...(run.state === 'RUN_SUCCESS' && run.response !== undefined ? { body: run.response } : {}),
      isFailed: run.state === 'RUN_FAILED',
      isCanceled: run.state === 'RUN_CANCELED',
    };
    const headers: HeaderBag = {};
    for (const [k, v] of Object.entries(inv.headers)) headers[k.toLowerCase()] = v.join(', ');
    const body = JSON.stringify({ ...inv.step, out: JSON.stringify(out) });
    // After the current event batch: the invoking run's step is a new publish.
    queueMicrotask(() => {
      void attempt(
        () => this.publish()(parsePublish(inv.workflowUrl, headers, body, this.clock.now())),
        () => {},
        (err) =>
          this.warn(
            `the result of run "${run.id}" could not reach its invoker "${inv.workflowRunId}"`,
            err,
          ),
      );
    });
  }

  /**
   * An ended run is kept for its logs, its dead letter and its invoker, within the retention (see
   * `EndedRuns`); a run forgotten is deleted only if it is still the ended run counted (a run
   * revived meanwhile on another server stays).
   */
  private keepEnded(run: Run, now: Millis): MaybePromise<void> {
    const forgotten = this.ended
      .add(run, now)
      .map(({ id, at }) =>
        this.docs.update(id, (cur) =>
          cur !== undefined && cur.state !== 'RUN_STARTED' && cur.completedAt === at
            ? { next: undefined, result: undefined }
            : { next: cur, result: undefined },
        ),
      );
    return after(all(forgotten), () => {});
  }
}

function tagFor(runId: string, call: LiveCall): WorkflowTag {
  return { runId, step: call.step };
}
