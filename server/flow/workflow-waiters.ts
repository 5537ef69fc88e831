import { randomBytes } from 'node:crypto';
import type { MessageId, Millis } from '../../shared/engine/units';
import { parseDuration } from '../../shared/protocol/duration';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { parsePublish, type HeaderBag } from '../../shared/protocol/publish';
import { parseWaitRequest, toBase64, type Step } from '../../shared/protocol/workflow';
import type { Clock, Timers } from './types';
import type { PublishFn, Workflows } from './workflows';
import { after, all, attempt, type MaybePromise } from '../store/flow-store';
import { jsonCodec, MemoryRecords, type Collection, type Records } from '../store/records';
import { chain, updateRecord } from '../store/update-record';
import { Background, Poller } from './background';

/** Events notified for a run before it waited for them, kept per run (lookback). */
const MAX_LOOKBACK_PER_RUN = 100;
/** The longest wait QStash allows (its default timeout is 7 days). */
const MAX_WAIT_MS = 365 * 86_400_000;
/** setTimeout's longest delay; a later deadline is armed again when this one fires. */
const MAX_TIMER_DELAY = 2_147_483_647;

/** A waiter as kept, in its run's `RunWaits`. */
interface Waiter {
  id: string;
  eventId: string;
  url: string;
  /** The wait request's headers: the step call that delivers the event is published with them. */
  headers: HeaderBag;
  deadline: Millis;
  timeoutUrl?: string;
  timeoutBody?: unknown;
  timeoutHeaders?: Record<string, string[]>;
  step: Step;
}

/** What a run waits for (collection `workflow-waits`, by run id). */
interface RunWaits {
  runId: string;
  /** Its waiters, oldest first. */
  waiters: Waiter[];
  /** Events notified for the run before it waited for them (lookback), oldest first. */
  kept: Array<{ eventId: string; data: string }>;
  /** Every event it waited for: the entries of `workflow-event-runs` to remove when it ends. */
  events: string[];
}

/** The runs that waited for an event (collection `workflow-event-runs`, by event id). */
interface EventRuns {
  runIds: string[];
}

/** A waiter's timeout, armed on this server. */
interface Armed {
  runId: string;
  deadline: Millis;
  handle: unknown;
  /** Armed short of the deadline (setTimeout's limit): armed again when it fires. */
  capped: boolean;
  /** When it was armed (see `WorkflowWaiters.version`). */
  version: number;
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

export interface WorkflowWaitersOptions {
  workflows: Workflows;
  clock: Clock;
  timers: Timers;
  /** Where waiters and kept events live; this process's memory by default. */
  records?: Records;
  /** The Publisher's `publish`, late-bound. */
  publish: () => PublishFn;
  warn?: (msg: string, err?: unknown) => void;
  /**
   * With records shared between servers (Redis): how often this server re-reads the waiters to
   * arm the timeouts of those other servers created. 1 s by default.
   */
  pollMs?: number;
}

/**
 * `context.waitForEvent` and `notify`: a run that waits holds no token; Baton keeps its waiter until
 * an event with its id is notified (the run's next call carries the data) or its timeout passes
 * (the call carries `waitTimeout: true`). A notify that names a run and finds no waiter is kept for
 * that run, so a wait that comes later receives it at once (the SDK's lookback).
 *
 * Waiters live in the records, in one document per run (`RunWaits`, its waiters and kept events
 * together, so a wait and a notify for one run never miss each other), with an index of the runs
 * that waited for each event. A waiter is taken by a compare-and-set that removes it: by a
 * notify (on any server), or by its timeout, which every server arms (re-reading the waiters
 * every `pollMs` on shared records) and one fires.
 */
export class WorkflowWaiters {
  private readonly workflows: Workflows;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly publish: () => PublishFn;
  private readonly warn: (msg: string, err?: unknown) => void;
  private readonly waits: Collection<RunWaits>;
  private readonly eventRuns: Collection<EventRuns>;
  private readonly shared: boolean;
  /** Each waiter's timeout on this server, by waiter id. */
  private readonly armed = new Map<string, Armed>();
  /**
   * Bumped at each arming: a poll leaves alone the timeouts armed after it began (from fresher
   * news than its read).
   */
  private version = 0;
  /** Work under way outside requests, which `close` waits for. */
  private readonly background: Background;
  private readonly poller: Poller<RunWaits>;
  private closed = false;

  constructor(options: WorkflowWaitersOptions) {
    this.workflows = options.workflows;
    this.clock = options.clock;
    this.timers = options.timers;
    this.publish = options.publish;
    this.warn = options.warn ?? (() => {});
    const records = options.records ?? new MemoryRecords();
    this.waits = records.collection('workflow-waits', jsonCodec<RunWaits>());
    this.eventRuns = records.collection('workflow-event-runs', jsonCodec<EventRuns>());
    this.shared = records.kind !== 'memory';
    this.background = new Background((msg, err) => this.warn(msg, err));
    this.poller = new Poller({
      timers: this.timers,
      repeat: this.shared,
      everyMs: options.pollMs ?? 1000,
      what: 'the workflow waiters could not be read',
      background: this.background,
      list: () => this.waits.list(),
      version: () => this.version,
      sync: (docs, since) => this.sync(docs, since),
    });
    this.workflows.onRunEnded((run) => this.dropRun(run.id));
    // Arms the timeouts of the waiters there already (after a restart, they time out again).
    this.poller.start();
  }

  /** `POST /v2/wait/{eventId}`, with the step call's headers and a `WaitRequest` body. */
  wait(eventId: string, headers: HeaderBag, body: string | undefined): MaybePromise<void> {
    checkEventId(eventId);
    const runId = headers['upstash-workflow-runid'];
    if (runId === undefined)
      throw new InvalidRequest('a wait needs the Upstash-Workflow-RunId header of its run');
    return chain(this.workflows.requireActive(runId.trim()), (run) => {
      const w = parseWaitRequest(body);
      const timeout = parseDuration(String(w.timeout ?? '7d'));
      if (timeout === null || timeout > MAX_WAIT_MS)
        throw new InvalidRequest(
          `timeout must be like 30s, 5m or 7d (at most 365d), got "${w.timeout}"`,
        );
      // Checked like the publish it will become, before anything is kept.
      parsePublish(w.url, headers, undefined, this.clock.now());
      // The bearer token is not needed to publish the next call, and is not kept.
      const { authorization: _, ...kept } = headers;
      const waiter: Waiter = {
        id: randomBytes(12).toString('base64url'),
        eventId,
        url: w.url,
        headers: kept,
        deadline: (this.clock.now() + timeout) as Millis,
        ...(w.timeoutUrl !== undefined ? { timeoutUrl: w.timeoutUrl } : {}),
        ...(w.timeoutBody !== undefined ? { timeoutBody: w.timeoutBody } : {}),
        ...(w.timeoutHeaders !== undefined ? { timeoutHeaders: w.timeoutHeaders } : {}),
        step: w.step,
      };
      const early = updateRecord(this.waits, run.id, (cur) => {
        const doc = cur ?? { runId: run.id, waiters: [], kept: [], events: [] };
        const k = doc.kept.find((e) => e.eventId === eventId);
        if (k !== undefined)
          return { next: { ...doc, kept: doc.kept.filter((e) => e !== k) }, result: k.data };
        const events = doc.events.includes(eventId) ? doc.events : [...doc.events, eventId];
        return { next: { ...doc, waiters: [...doc.waiters, waiter], events }, result: undefined };
      });
      return chain(early, (data) => {
        if (data !== undefined) return after(this.deliver(waiter, data), () => {});
        this.arm(run.id, waiter);
        return updateRecord(this.eventRuns, eventId, (cur) =>
          cur?.runIds.includes(run.id) === true
            ? { next: cur, result: undefined }
            : { next: { runIds: [...(cur?.runIds ?? []), run.id] }, result: undefined },
        );
      });
    });
  }

  /**
   * `POST /v2/notify/{eventId}` (or `/v2/notify/{runId}/{eventId}`): every waiter of the event (of
   * that run) receives `data`. Answers one entry per waiter reached; none reached is `[]`.
   */
  notify(eventId: string, data: string, runId?: string): MaybePromise<NotifyResult[]> {
    checkEventId(eventId);
    const runIds =
      runId !== undefined
        ? [runId]
        : after(this.eventRuns.get(eventId), (doc) => doc?.runIds ?? []);
    const taken = chain(runIds, (ids) =>
      all(ids.map((id) => this.take(id, eventId, data, id === runId))),
    );
    return chain(taken, (lists) =>
      all(
        lists.flat().map((w) => {
          this.disarm(w.id);
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
      ),
    );
  }

  /** `GET /v2/waiters/{eventId}`. */
  waiters(eventId: string): MaybePromise<WaiterView[]> {
    checkEventId(eventId);
    const docs = chain(this.eventRuns.get(eventId), (doc) =>
      all((doc?.runIds ?? []).map((id) => this.waits.get(id))),
    );
    return after(docs, (list) =>
      list.flatMap((d) => (d?.waiters ?? []).filter((w) => w.eventId === eventId)).map(view),
    );
  }

  /**
   * Every waiter's timer on this server stops (the app is closing; other servers still time them
   * out). Resolves once the work under way here is done.
   */
  close(): MaybePromise<void> {
    this.closed = true;
    this.poller.close();
    for (const a of this.armed.values()) this.timers.clear(a.handle);
    this.armed.clear();
    return this.settled();
  }

  /** Resolves once nothing this server started (a poll, a timeout and its publish) is under way. */
  settled(): MaybePromise<void> {
    return this.background.settled();
  }

  /**
   * Takes the run's waiters of the event; when it has none and `keep`, keeps the data for its
   * next wait for the event (if the run is active).
   */
  private take(
    runId: string,
    eventId: string,
    data: string,
    keep: boolean,
  ): MaybePromise<Waiter[]> {
    const active = keep
      ? after(this.workflows.get(runId), (run) => run?.state === 'RUN_STARTED')
      : false;
    return chain(active, (canKeep) =>
      updateRecord(this.waits, runId, (cur) => {
        const reached = (cur?.waiters ?? []).filter((w) => w.eventId === eventId);
        if (cur !== undefined && reached.length > 0) {
          const waiters = cur.waiters.filter((w) => w.eventId !== eventId);
          return { next: { ...cur, waiters }, result: reached };
        }
        if (!canKeep) return { next: cur, result: [] };
        const doc = cur ?? { runId, waiters: [], kept: [], events: [] };
        const kept = [...doc.kept.filter((e) => e.eventId !== eventId), { eventId, data }];
        return { next: { ...doc, kept: kept.slice(-MAX_LOOKBACK_PER_RUN) }, result: [] };
      }),
    );
  }

  /** The run's next call: its wait step, with the event's data (base64, as the SDK reads it). */
  private deliver(w: Waiter, data: string): MaybePromise<MessageId> {
    const body = JSON.stringify({ ...w.step, out: toBase64(data), waitTimeout: false });
    return after(
      this.publish()(parsePublish(w.url, w.headers, body, this.clock.now())),
      (r) => r.messageId,
    );
  }

  /** The run ended (on this server): its waiters and kept events go, with their index entries. */
  private dropRun(runId: string): MaybePromise<void> {
    for (const [id, a] of this.armed) if (a.runId === runId) this.disarm(id);
    const dropped = updateRecord(this.waits, runId, (cur) => ({ next: undefined, result: cur }));
    return chain(dropped, (doc) =>
      after(
        all(
          (doc?.events ?? []).map((eventId) =>
            updateRecord(this.eventRuns, eventId, (cur) => {
              if (cur?.runIds.includes(runId) !== true) return { next: cur, result: undefined };
              const runIds = cur.runIds.filter((r) => r !== runId);
              return { next: runIds.length === 0 ? undefined : { runIds }, result: undefined };
            }),
          ),
        ),
        () => {},
      ),
    );
  }

  /** Arms the waiter's timeout here, unless it is armed already (a deadline never changes). */
  private arm(runId: string, w: Pick<Waiter, 'id' | 'deadline'>): void {
    if (this.closed || this.armed.has(w.id)) return;
    const wanted = Math.max(0, w.deadline - this.clock.now());
    const handle = this.timers.set(() => this.fire(w.id), Math.min(MAX_TIMER_DELAY, wanted));
    const capped = wanted > MAX_TIMER_DELAY;
    this.armed.set(w.id, { runId, deadline: w.deadline, handle, capped, version: ++this.version });
  }

  private disarm(id: string): void {
    const a = this.armed.get(id);
    if (a === undefined) return;
    this.timers.clear(a.handle);
    this.armed.delete(id);
  }

  /** A timeout fired here: the one server whose claim lands publishes the timeout call. */
  private fire(id: string): void {
    const a = this.armed.get(id);
    if (a === undefined) return;
    this.armed.delete(id);
    if (a.capped) return this.arm(a.runId, { id, deadline: a.deadline });
    this.background.track(`a wait of run "${a.runId}" could not time out`, () => {
      const claimed = updateRecord(this.waits, a.runId, (cur) => {
        const w = cur?.waiters.find((x) => x.id === id);
        if (cur === undefined || w === undefined) return { next: cur, result: undefined };
        return { next: { ...cur, waiters: cur.waiters.filter((x) => x !== w) }, result: w };
      });
      return chain(claimed, (w) => (w === undefined ? undefined : this.timeOut(a.runId, w)));
    });
  }

  private timeOut(runId: string, w: Waiter): MaybePromise<void> {
    const headers: HeaderBag = {};
    for (const [k, v] of Object.entries(w.timeoutHeaders ?? {}))
      headers[k.toLowerCase()] = v.join(', ');
    const body = JSON.stringify({ ...w.step, waitTimeout: true });
    const hasOwn = w.timeoutHeaders !== undefined;
    return attempt(
      () =>
        this.publish()(
          parsePublish(w.timeoutUrl ?? w.url, hasOwn ? headers : w.headers, body, this.clock.now()),
        ),
      () => {},
      (err) =>
        this.warn(
          `the timeout of run "${runId}" waiting for "${w.eventId}" could not be delivered`,
          err,
        ),
    );
  }

  /** Arms for what a poll read; disarms what it did not find, unless armed since it began. */
  private sync(docs: readonly RunWaits[], since: number): void {
    if (this.closed) return;
    const seen = new Set<string>();
    for (const doc of docs) {
      for (const w of doc.waiters) {
        seen.add(w.id);
        this.arm(doc.runId, w);
      }
    }
    for (const [id, a] of this.armed) if (!seen.has(id) && a.version <= since) this.disarm(id);
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
