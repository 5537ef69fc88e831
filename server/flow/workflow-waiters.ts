import type { MessageId, Millis } from '../../shared/engine/units';
import { parseDuration } from '../../shared/protocol/duration';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { parsePublish, type HeaderBag } from '../../shared/protocol/publish';
import { parseWaitRequest, toBase64, type Step } from '../../shared/protocol/workflow';
import type { Clock, Timers } from './types';
import type { PublishFn, Run, Workflows } from './workflows';
import { after, all, attempt, type MaybePromise } from '../store/flow-store';

/** Events notified for a run before it waited for them, kept per run (lookback). */
const MAX_LOOKBACK_PER_RUN = 100;
/** The longest wait QStash allows (its default timeout is 7 days). */
const MAX_WAIT_MS = 365 * 86_400_000;

interface Waiter {
  eventId: string;
  run: Run;
  url: string;
  /** The wait request's headers: the step call that delivers the event is published with them. */
  headers: HeaderBag;
  deadline: Millis;
  timeoutUrl?: string;
  timeoutBody?: unknown;
  timeoutHeaders?: Record<string, string[]>;
  step: Step;
  timer: unknown;
}

/** A waiter as `GET /v2/waiters/{eventId}` and a notify's answer show it (the SDK's `Waiter`). */
export interface WaiterView {
  url: string;
  /** Unix seconds. */
  deadline: number;
  headers: Record<string, string[]>;
  timeoutUrl?: string;
  timeoutBody?: unknown;
  timeoutHeaders?: Record<string, string[]>;
}

export interface NotifyResult {
  waiter: WaiterView;
  messageId: MessageId | '';
  error?: string;
}

/**
 * `context.waitForEvent` and `notify`: a run that waits holds no token; Baton keeps its waiter until
 * an event with its id is notified (the run's next call carries the data) or its timeout passes
 * (the call carries `waitTimeout: true`). A notify that names a run and finds no waiter is kept for
 * that run, so a wait that comes later receives it at once (the SDK's lookback).
 */
export class WorkflowWaiters {
  private readonly byEvent = new Map<string, Waiter[]>();
  private readonly lookback = new Map<string, Map<string, string>>();

  constructor(
    private readonly workflows: Workflows,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly publish: () => PublishFn,
    private readonly warn: (msg: string, err?: unknown) => void = () => {},
  ) {
    workflows.onRunEnded((run) => this.dropRun(run));
  }

  /** `POST /v2/wait/{eventId}`, with the step call's headers and a `WaitRequest` body. */
  wait(eventId: string, headers: HeaderBag, body: string | undefined): MaybePromise<void> {
    checkEventId(eventId);
    const runId = headers['upstash-workflow-runid'];
    if (runId === undefined)
      throw new InvalidRequest('a wait needs the Upstash-Workflow-RunId header of its run');
    const run = this.workflows.requireActive(runId.trim());
    const w = parseWaitRequest(body);
    const timeout = parseDuration(String(w.timeout ?? '7d'));
    if (timeout === null || timeout > MAX_WAIT_MS)
      throw new InvalidRequest(
        `timeout must be like 30s, 5m or 7d (at most 365d), got "${w.timeout}"`,
      );
    // Checked like the publish it will become, before anything is kept.
    parsePublish(w.url, headers, undefined, this.clock.now());
    const kept = this.lookback.get(run.id)?.get(eventId);
    if (kept !== undefined) {
      this.lookback.get(run.id)?.delete(eventId);
      return after(this.deliver({ url: w.url, headers, step: w.step }, kept), () => {});
    }
    const waiter: Waiter = {
      eventId,
      run,
      url: w.url,
      headers,
      deadline: (this.clock.now() + timeout) as Millis,
      ...(w.timeoutUrl !== undefined ? { timeoutUrl: w.timeoutUrl } : {}),
      ...(w.timeoutBody !== undefined ? { timeoutBody: w.timeoutBody } : {}),
      ...(w.timeoutHeaders !== undefined ? { timeoutHeaders: w.timeoutHeaders } : {}),
      step: w.step,
      timer: null,
    };
    waiter.timer = this.timers.set(() => this.timeOut(waiter), timeout);
    const list = this.byEvent.get(eventId);
    if (list === undefined) this.byEvent.set(eventId, [waiter]);
    else list.push(waiter);
  }

  /**
   * `POST /v2/notify/{eventId}` (or `/v2/notify/{runId}/{eventId}`): every waiter of the event (of
   * that run) receives `data`. Answers one entry per waiter reached; none reached is `[]`.
   */
  notify(eventId: string, data: string, runId?: string): MaybePromise<NotifyResult[]> {
    checkEventId(eventId);
    const list = this.byEvent.get(eventId) ?? [];
    const reached = runId === undefined ? list : list.filter((w) => w.run.id === runId);
    if (reached.length === 0 && runId !== undefined) {
      const run = this.workflows.get(runId);
      if (run !== undefined && run.state === 'RUN_STARTED') this.keepForLater(run, eventId, data);
      return [];
    }
    const rest = list.filter((w) => !reached.includes(w));
    if (rest.length === 0) this.byEvent.delete(eventId);
    else this.byEvent.set(eventId, rest);
    return all(
      reached.map((w) => {
        this.timers.clear(w.timer);
        return attempt(
          () => this.deliver(w, data),
          (messageId): NotifyResult => ({ waiter: view(w), messageId }),
          (err): NotifyResult => ({
            waiter: view(w),
            messageId: '',
            error: (err as Error).message,
          }),
        );
      }),
    );
  }

  /** `GET /v2/waiters/{eventId}`. */
  waiters(eventId: string): WaiterView[] {
    checkEventId(eventId);
    return (this.byEvent.get(eventId) ?? []).map(view);
  }

  /** Every waiter's timer stops (the app is closing). */
  close(): void {
    for (const list of this.byEvent.values()) for (const w of list) this.timers.clear(w.timer);
    this.byEvent.clear();
  }

  /** The run's next call: its wait step, with the event's data (base64, as the SDK reads it). */
  private deliver(
    w: Pick<Waiter, 'url' | 'headers' | 'step'>,
    data: string,
  ): MaybePromise<MessageId> {
    const body = JSON.stringify({ ...w.step, out: toBase64(data), waitTimeout: false });
    return after(
      this.publish()(parsePublish(w.url, w.headers, body, this.clock.now())),
      (r) => r.messageId,
    );
  }

  private timeOut(w: Waiter): void {
    const list = this.byEvent.get(w.eventId);
    if (list === undefined || !list.includes(w)) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length === 0) this.byEvent.delete(w.eventId);
    else this.byEvent.set(w.eventId, rest);
    const headers: HeaderBag = {};
    for (const [k, v] of Object.entries(w.timeoutHeaders ?? {}))
      headers[k.toLowerCase()] = v.join(', ');
    const body = JSON.stringify({ ...w.step, waitTimeout: true });
    const hasOwn = w.timeoutHeaders !== undefined;
    void attempt(
      () =>
        this.publish()(
          parsePublish(w.timeoutUrl ?? w.url, hasOwn ? headers : w.headers, body, this.clock.now()),
        ),
      () => {},
      (err) =>
        this.warn(
          `the timeout of run "${w.run.id}" waiting for "${w.eventId}" could not be delivered`,
          err,
        ),
    );
  }

  private keepForLater(run: Run, eventId: string, data: string): void {
    let events = this.lookback.get(run.id);
    if (events === undefined) this.lookback.set(run.id, (events = new Map()));
    events.delete(eventId);
    events.set(eventId, data);
    if (events.size > MAX_LOOKBACK_PER_RUN) events.delete(events.keys().next().value as string);
  }

  private dropRun(run: Run): void {
    this.lookback.delete(run.id);
    for (const [eventId, list] of this.byEvent) {
      const rest = list.filter((w) => {
        if (w.run !== run) return true;
        this.timers.clear(w.timer);
        return false;
      });
      if (rest.length === 0) this.byEvent.delete(eventId);
      else if (rest.length !== list.length) this.byEvent.set(eventId, rest);
    }
  }
}

function checkEventId(eventId: string): void {
  if (eventId.length === 0 || eventId.length > 256)
    throw new InvalidRequest('an event id must be 1 to 256 characters');
}

function view(w: Waiter): WaiterView {
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(w.headers))
    if (v !== undefined && k !== 'authorization') headers[k] = [v];
  return {
    url: w.url,
    deadline: Math.floor(w.deadline / 1000),
    headers,
    ...(w.timeoutUrl !== undefined ? { timeoutUrl: w.timeoutUrl } : {}),
    ...(w.timeoutBody !== undefined ? { timeoutBody: w.timeoutBody } : {}),
    ...(w.timeoutHeaders !== undefined ? { timeoutHeaders: w.timeoutHeaders } : {}),
  };
}
