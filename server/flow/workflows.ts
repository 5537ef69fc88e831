import { isMessageEnd, type EngineEvent, type WorkflowTag } from '../../shared/events';
import type { MessageHandle } from '../../shared/engine/types';
import type { MessageId, Millis } from '../../shared/engine/units';
import { bodyText } from '../../shared/protocol/body';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import {
  parsePublish,
  type HeaderBag,
  type MessagePayload,
  type ParsedPublish,
} from '../../shared/protocol/publish';
import {
  parseInvokeRequest,
  parseStep,
  toBase64,
  type CallType,
  type InvokeRequest,
  type RawStep,
  type Step,
} from '../../shared/protocol/workflow';
import type { Admission, LiveMessage, PublishFn, Run, RunState } from './workflow-run';
import { after, attempt, type MaybePromise } from '../store/flow-store';
import type { MessageLog } from './message-log';
import { DEFAULT_RETENTION, stringBytes, type RetentionLimit } from './retention';
import type { Clock } from './types';

export type * from './workflow-run';

const encoder = new TextEncoder();

/** A run without its steps and strings: the record, its Map slot, its sets and timestamps. */
const RUN_BYTES = 600;
/** One step of a run beyond its base64 body: its records, message id and parsed step. */
const STEP_BYTES = 300;

/**
 * Workflow runs: the QStash side of `@upstash/workflow`. A run starts with its trigger
 * (`Upstash-Workflow-Init: true`); each step the SDK publishes is appended to the run's steps, and
 * each call to the endpoint carries the steps up to its own (see `payloadFor`). Later steps
 * inherit the run's flow control, retries and failure callback. The run ends when the SDK deletes
 * it (success or `context.cancel`), when a step fails for good, or when it is cancelled.
 */
export class Workflows {
  private readonly runs = new Map<string, Run>();
  private readonly liveMessages = new Map<MessageId, LiveMessage>();
  private readonly endListeners: Array<(run: Run) => void> = [];
  /** Ended runs, oldest end first, with their estimated size; forgotten by bytes and age. */
  private readonly ended = new Map<string, { bytes: number; at: Millis }>();
  private endedBytes = 0;
  private readonly retention: RetentionLimit;

  private readonly log: MessageLog;
  private readonly clock: Clock;
  private readonly cancel: (message: MessageHandle) => void;
  private readonly publish: () => PublishFn;
  private readonly warn: (msg: string, err?: unknown) => void;

  constructor(options: {
    log: MessageLog;
    clock: Clock;
    /** Cancels a message (the controller's `cancel`). */
    cancel: (message: MessageHandle) => void;
    /** The Publisher's `publish`, late-bound (the Publisher is built with this). */
    publish: () => PublishFn;
    warn?: (msg: string, err?: unknown) => void;
    /** How many ended runs are kept, in bytes and age (the history's limits by default). */
    retention?: RetentionLimit;
  }) {
    this.retention = options.retention ?? DEFAULT_RETENTION.history;
    this.log = options.log;
    this.clock = options.clock;
    this.cancel = options.cancel;
    this.publish = options.publish;
    this.warn = options.warn ?? (() => {});
  }

  get(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  /** A run that exists, or a 404. */
  require(runId: string): Run {
    const run = this.runs.get(runId);
    if (run === undefined) throw new InvalidRequest(`workflow run "${runId}" not found`, 404);
    return run;
  }

  /** A run that exists and has not ended, or a 404/400. */
  requireActive(runId: string): Run {
    const run = this.require(runId);
    if (run.state !== 'RUN_STARTED')
      throw new InvalidRequest(`workflow run "${runId}" has ended (${run.state})`);
    return run;
  }

  all(): IterableIterator<Run> {
    return this.runs.values();
  }

  /** Called when a run ends (waiters of the run are dropped this way). */
  onRunEnded(listener: (run: Run) => void): void {
    this.endListeners.push(listener);
  }

  /** The run and step of a live message, for the dashboard. */
  tagOf(id: MessageId): WorkflowTag | undefined {
    return this.liveMessages.get(id)?.tag;
  }

  /** The run a live message belongs to. */
  runOf(id: MessageId): Run | undefined {
    return this.liveMessages.get(id)?.run;
  }

  /** Live messages of a run (for its logs' "next" steps). */
  *liveOf(run: Run): IterableIterator<{ id: MessageId; tag: WorkflowTag; callType: CallType }> {
    for (const id of run.live) {
      const m = this.liveMessages.get(id);
      if (m !== undefined) yield { id, tag: m.tag, callType: m.callType };
    }
  }

  /**
   * Checks a Workflow message against its run and says how to publish it: a repeated trigger is
   * a duplicate; a later step needs its run to exist (404) and not to have ended (400: the SDK
   * then stops quietly, as after a cancel), and its body must be a step; it inherits the run's
   * flow control, retries and failure callback. Throws `InvalidRequest` and changes nothing.
   */
  admit(parsed: ParsedPublish): Admission {
    const wf = parsed.workflow;
    if (wf === undefined) throw new Error('admit takes Workflow messages only');
    if (wf.init && wf.callType === 'step') {
      const existing = this.runs.get(wf.runId);
      if (existing !== undefined)
        return { kind: 'duplicate', messageId: existing.steps[0]!.raw.messageId as MessageId };
      return this.admitTrigger(parsed);
    }
    const run = this.require(wf.runId);
    if (wf.revive !== undefined)
      return this.admitted(parsed, run, wf.callType, null, wf.revive === 0 ? 'start' : 'resumed');
    if (wf.callType === 'failureCall')
      return this.admitted(parsed, run, 'failureCall', null, 'failure function');
    if (run.state !== 'RUN_STARTED')
      throw new InvalidRequest(`workflow run "${wf.runId}" has ended (${run.state})`);
    if (wf.callType === 'toCallback') {
      // A context.call: the third party is called under the call's own flow control.
      const name = parsed.callback?.headers['upstash-forward-upstash-workflow-stepname'] ?? 'call';
      return this.admitted(parsed, run, 'toCallback', null, name);
    }
    const inherited = this.inherit(parsed, run);
    if (wf.callType === 'fromCallback') {
      const name = parsed.payload.headers['upstash-workflow-stepname'] ?? 'call';
      return this.admitted(inherited, run, 'fromCallback', null, `${name} (answer)`);
    }
    const step = parseStep(bodyText(parsed.payload.body));
    // A plan step (a parallel branch) runs that step; any other call brings a step's result and
    // runs whatever comes after it.
    const plan = step.stepId === 0 && step.targetStep !== undefined;
    return this.admitted(
      inherited,
      run,
      'step',
      step,
      plan ? step.stepName : `after ${step.stepName}`,
    );
  }

  /** Forgets a message recorded by `commit` that the engine then refused. */
  discard(id: MessageId): void {
    const m = this.liveMessages.get(id);
    if (m === undefined) return;
    this.liveMessages.delete(id);
    m.run.live.delete(id);
    if (m.index !== null && m.index === m.run.steps.length - 1) m.run.steps.pop();
    if (m.index === 0 && m.run.steps.length === 0) this.runs.delete(m.run.id);
  }

  /**
   * What a call to the endpoint carries: the run's steps up to its own (the SDK replays them), the
   * run's user headers and its creation time. Other messages are delivered as published.
   */
  payloadFor(id: MessageId, payload: MessagePayload): MessagePayload {
    const m = this.liveMessages.get(id);
    if (m === undefined || m.callType === 'toCallback') return payload;
    const headers = {
      ...m.run.userHeaders,
      ...payload.headers,
      'upstash-workflow-createdat': String(m.run.createdAt),
    };
    if (m.index === null) return { ...payload, headers };
    const raws = m.run.steps.slice(0, m.index + 1).map((s) => s.raw);
    return { ...payload, headers, body: encoder.encode(JSON.stringify(raws)) };
  }

  /** The raw steps of a run, as `GET /v2/workflows/runs/{id}` answers them. */
  rawSteps(runId: string): RawStep[] {
    const run = this.require(runId);
    if (run.state !== 'RUN_STARTED')
      throw new InvalidRequest(`workflow run "${runId}" has ended (${run.state})`, 404);
    return run.steps.map((s) => s.raw);
  }

  /**
   * `DELETE /v2/workflows/runs/{id}`: the SDK ends a run that returned (`cancel=false`, with its
   * result as the body) or cancelled itself (`cancel=true`).
   */
  end(runId: string, cancel: boolean, result: string | undefined, now: Millis): void {
    const run = this.requireActive(runId);
    if (cancel) return this.cancelRun(run, now);
    if (result !== undefined) run.response = result;
    this.finishRun(run, 'RUN_SUCCESS', now);
  }

  /** Cancels an active run: its calls that have not started end, its waiters are dropped. */
  cancelRun(run: Run, now: Millis): void {
    if (run.state !== 'RUN_STARTED') return;
    this.finishRun(run, 'RUN_CANCELED', now);
  }

  /** The failure callback a run's failed message published (recorded for logs and DLQ retry). */
  failureCallbackPublished(
    source: MessageId,
    callback: { messageId: MessageId; url: string; headers: HeaderBag; body: string },
    answer: { status: number; headers: Record<string, string[]>; body: string },
  ): void {
    const run = this.runs.get(
      this.log.get(source)?.payload.headers['upstash-workflow-runid'] ?? '',
    );
    if (run === undefined) return;
    run.failure = {
      messageId: callback.messageId,
      url: callback.url,
      state: 'CALLBACK_INPROGRESS',
      failStatus: answer.status,
      failResponse: answer.body,
      failHeaders: answer.headers,
      headers: callback.headers,
      body: callback.body,
    };
  }

  /** Follows the engine: a run's messages end; a step that fails for good fails its run. */
  apply(events: readonly EngineEvent[]): void {
    for (const e of events) {
      if (!isMessageEnd(e)) continue;
      const m = this.liveMessages.get(e.messageId);
      if (m === undefined) continue;
      this.liveMessages.delete(e.messageId);
      m.run.live.delete(e.messageId);
      const run = m.run;
      if (m.callType === 'failureCall') {
        if (run.failure?.messageId === e.messageId) {
          run.failure.state =
            e.type === 'message:delivered'
              ? 'CALLBACK_SUCCESS'
              : e.type === 'message:cancelled'
                ? 'CALLBACK_CANCELED'
                : 'CALLBACK_FAIL';
        }
        continue;
      }
      if (e.type !== 'message:dead-lettered' || m.callType === 'toCallback') continue;
      if (run.state !== 'RUN_STARTED') continue;
      run.failed = {
        messageId: e.messageId,
        index: m.index,
        callType: m.callType,
        payload: m.payload,
      };
      const dlqId = this.log.get(e.messageId)?.dlqId;
      if (dlqId !== undefined) run.dlqId = dlqId;
      this.finishRun(run, 'RUN_FAILED', e.at);
    }
  }

  /**
   * Publishes a failed run's message again (`dlq resume`) or its trigger (`dlq restart`, which
   * forgets every step but the initial payload), under the run's flow control unless `override`
   * gives other. The run is active again.
   */
  revive(
    run: Run,
    how: 'resume' | 'restart',
    override: Partial<Pick<Run, 'key' | 'config' | 'retries'>>,
  ): MaybePromise<void> {
    const failed = run.failed;
    if (run.state !== 'RUN_FAILED' || failed === undefined)
      throw new InvalidRequest(`workflow run "${run.id}" has not failed (${run.state})`);
    Object.assign(run, override);
    this.unend(run);
    run.state = 'RUN_STARTED';
    delete run.completedAt;
    delete run.dlqId;
    delete run.failed;
    if (how === 'restart') run.steps.length = 1;
    const payload = how === 'restart' ? run.trigger : failed.payload;
    const index = how === 'restart' ? 0 : failed.index;
    const callType = how === 'restart' ? 'step' : failed.callType;
    const published = this.publish()({
      input: {
        ...(run.key !== undefined ? { key: run.key } : {}),
        ...(run.config !== undefined ? { config: run.config } : {}),
        ...(run.retries !== undefined ? { retries: run.retries } : {}),
      },
      payload: { ...payload },
      contentBasedDeduplication: false,
      ...(run.failureCallback !== undefined ? { failureCallback: run.failureCallback } : {}),
      workflow: { runId: run.id, init: false, callType, invoke: false, revive: index },
    });
    return after(published, () => {});
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

  private admitTrigger(parsed: ParsedPublish): Admission {
    const wf = parsed.workflow!;
    let initial: string | Uint8Array | undefined = parsed.payload.body;
    let invoker: InvokeRequest | undefined;
    if (wf.invoke) {
      invoker = parseInvokeRequest(bodyText(parsed.payload.body));
      initial = invoker.body;
    }
    const userHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed.payload.headers)) {
      if (
        name === 'content-type' ||
        name.startsWith('upstash-workflow-') ||
        name === 'upstash-feature-set'
      )
        continue;
      userHeaders[name] = value;
    }
    const { input, payload } = parsed;
    return {
      kind: 'publish',
      parsed,
      commit: (id, now) => {
        const run: Run = {
          id: wf.runId,
          url: wf.url ?? payload.destination,
          createdAt: now,
          state: 'RUN_STARTED',
          ...(input.key !== undefined ? { key: input.key } : {}),
          ...(input.config !== undefined ? { config: input.config } : {}),
          ...(input.retries !== undefined ? { retries: input.retries } : {}),
          ...(payload.retryDelay !== undefined ? { retryDelay: payload.retryDelay } : {}),
          ...(parsed.failureCallback !== undefined
            ? { failureCallback: parsed.failureCallback }
            : {}),
          ...(parsed.label !== undefined ? { label: parsed.label } : {}),
          ...(invoker !== undefined ? { invoker } : {}),
          userHeaders,
          trigger: payload,
          steps: [{ raw: { messageId: id, body: toBase64(initial), callType: 'step' }, at: now }],
          live: new Set(),
        };
        this.runs.set(run.id, run);
        this.track(id, run, 'step', 0, 'start', payload);
      },
    };
  }

  /** Later steps carry no flow control, retries or failure callback: they take the run's. */
  private inherit(parsed: ParsedPublish, run: Run): ParsedPublish {
    const input = { ...parsed.input };
    const payload = { ...parsed.payload };
    if (input.key === undefined) {
      if (run.key !== undefined) input.key = run.key;
      if (run.config !== undefined) input.config = run.config;
    }
    if (input.retries === undefined && run.retries !== undefined) input.retries = run.retries;
    if (payload.retryDelay === undefined && run.retryDelay !== undefined)
      payload.retryDelay = run.retryDelay;
    return {
      ...parsed,
      input,
      payload,
      ...(parsed.failureCallback === undefined && run.failureCallback !== undefined
        ? { failureCallback: run.failureCallback }
        : {}),
    };
  }

  private admitted(
    parsed: ParsedPublish,
    run: Run,
    callType: CallType,
    step: Step | null,
    name: string,
  ): Admission {
    const revive = parsed.workflow?.revive;
    return {
      kind: 'publish',
      parsed,
      commit: (id, now) => {
        let index: number | null = null;
        if (revive !== undefined) index = revive;
        else if (callType !== 'failureCall') {
          const raw: RawStep = {
            messageId: id,
            body: toBase64(parsed.payload.body),
            callType: callType === 'step' ? 'step' : callType,
          };
          run.steps.push({ raw, at: now, ...(step !== null ? { step } : {}) });
          if (callType === 'step') index = run.steps.length - 1;
        }
        this.track(id, run, callType, index, name, parsed.payload);
      },
    };
  }

  private track(
    id: MessageId,
    run: Run,
    callType: CallType,
    index: number | null,
    step: string,
    payload: MessagePayload,
  ): void {
    run.live.add(id);
    this.liveMessages.set(id, { run, callType, index, tag: { runId: run.id, step }, payload });
  }

  private finishRun(run: Run, state: Exclude<RunState, 'RUN_STARTED'>, now: Millis): void {
    run.state = state;
    run.completedAt = now;
    if (state !== 'RUN_FAILED') {
      // Its calls that have not started end now (one in flight runs to its end); a failed run's
      // other branches stop at their next step, which the run refuses.
      for (const id of [...run.live]) {
        const m = this.log.get(id);
        if (
          m?.handle !== undefined &&
          m.status !== 'in-flight' &&
          this.liveMessages.get(id)?.callType !== 'failureCall'
        )
          this.cancel(m.handle);
      }
    }
    for (const l of this.endListeners) l(run);
    if (run.invoker !== undefined) this.answerInvoker(run);
    this.keepEnded(run, now);
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
   * An ended run is kept for its logs, its dead letter and its invoker, within the retention's
   * bytes and age (its steps' bodies counted); the oldest ended are forgotten first. A run that
   * has not ended is live work, and is never forgotten.
   */
  private keepEnded(run: Run, now: Millis): void {
    let bytes = RUN_BYTES + stringBytes(run.response);
    for (const s of run.steps) bytes += STEP_BYTES + s.raw.body.length;
    this.ended.delete(run.id);
    this.ended.set(run.id, { bytes, at: now });
    this.endedBytes += bytes;
    const { maxBytes, maxAgeMs } = this.retention;
    for (const [id, e] of this.ended) {
      // The run just ended stays: its failure callback and its invoker's answer still read it.
      if (id === run.id) break;
      if (this.endedBytes <= maxBytes && (maxAgeMs === null || now - e.at < maxAgeMs)) break;
      this.ended.delete(id);
      this.endedBytes -= e.bytes;
      this.runs.delete(id);
    }
  }

  /** A revived run is live again: no longer counted among the ended. */
  private unend(run: Run): void {
    const e = this.ended.get(run.id);
    if (e === undefined) return;
    this.ended.delete(run.id);
    this.endedBytes -= e.bytes;
  }
}
