/**
 * Where Workflow runs live: two collections of the records (this process's memory, or Redis
 * shared by every server on one prefix, kept across restarts):
 *
 *   workflow-runs      run id → `Run`: its steps, its live calls, its state and failure
 *   workflow-messages  message id → `RunMessage`: a live call's run and payload, until it ends
 *
 * Every change to a run is a compare-and-set (`updateRecord`): two servers appending steps to one
 * run keep both, and of two servers making one transition (following the same end, ending a run
 * the SDK ends while a step fails) one makes it, the other finds it made.
 *
 * Besides, per server: what dead letters show of their run, for the synchronous `peek` (exact on
 * memory records, the runs this server last read on Redis), and the ended runs retention forgets.
 */
import type { Millis } from '../../shared/engine/units';
import type { MessagePayload } from '../../shared/protocol/publish';
import { after, type MaybePromise } from '../store/flow-store';
import { jsonCodec, type Collection, type Records } from '../store/records';
import { updateRecord, type RecordChange } from '../store/update-record';
import { stringBytes, type RetentionLimit } from './retention';
import type { FailureCallbackState, Run, RunMessage } from './workflow-run';

/** A run without its steps and strings: the record, its Map slot, its sets and timestamps. */
const RUN_BYTES = 600;
/** One step of a run beyond its base64 body: its records, message id and parsed step. */
const STEP_BYTES = 300;
/** Runs whose summaries a server keeps for `peek` on shared records. */
const MAX_SUMMARIES = 10_000;

/** What a dead letter of a run shows of it (see `RunRecords.peek`). */
export interface RunSummary {
  id: string;
  url: string;
  createdAt: Millis;
  label?: string;
  failure?: { url: string; state: FailureCallbackState };
}

function summaryOf(run: Run): RunSummary {
  return {
    id: run.id,
    url: run.url,
    createdAt: run.createdAt,
    ...(run.label !== undefined ? { label: run.label } : {}),
    ...(run.failure !== undefined
      ? { failure: { url: run.failure.url, state: run.failure.state } }
      : {}),
  };
}

/**
 * The payload with its body as a plain `Uint8Array`: a `Buffer` (a request's body) has a `toJSON`
 * that `JSON.stringify` calls before the codec's replacer sees it, so it would not be kept as bytes.
 */
export function storable(payload: MessagePayload): MessagePayload {
  const b = payload.body;
  if (b === undefined || Object.getPrototypeOf(b) === Uint8Array.prototype) return payload;
  return { ...payload, body: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
}

/** The runs and their live messages in the records; see the file's comment. */
export class RunRecords {
  private readonly runs: Collection<Run>;
  readonly messages: Collection<RunMessage>;
  /** Shared records answer with promises; memory ones at once (then `peek` reads them). */
  private readonly summaries = new Map<string, RunSummary>();

  constructor(records: Records) {
    this.runs = records.collection('workflow-runs', jsonCodec<Run>());
    this.messages = records.collection('workflow-messages', jsonCodec<RunMessage>());
  }

  get(runId: string): MaybePromise<Run | undefined> {
    return after(this.runs.get(runId), (run) => this.seen(runId, run));
  }

  /** Every run, in the order they were first triggered. */
  list(): MaybePromise<Run[]> {
    return after(this.runs.list(), (runs) => {
      for (const run of runs) this.seen(run.id, run);
      return runs;
    });
  }

  /** A compare-and-set change of the run (see `updateRecord`; `change` must not modify its input). */
  update<R>(
    runId: string,
    change: (current: Run | undefined) => RecordChange<Run, R>,
  ): MaybePromise<R> {
    let stored: Run | undefined;
    const done = updateRecord(this.runs, runId, (current) => {
      const c = change(current);
      stored = c.next;
      return c;
    });
    return after(done, (result) => {
      this.seen(runId, stored);
      return result;
    });
  }

  /**
   * What a dead letter shows of its run, at once: read from memory records, or the last this
   * server read of it from shared ones (undefined when it never read it).
   */
  peek(runId: string): RunSummary | undefined {
    const run = this.runs.get(runId);
    if (!(run instanceof Promise)) return run === undefined ? undefined : summaryOf(run);
    run.catch(() => {});
    return this.summaries.get(runId);
  }

  private seen(runId: string, run: Run | undefined): Run | undefined {
    this.summaries.delete(runId);
    if (run === undefined) return run;
    this.summaries.set(runId, summaryOf(run));
    if (this.summaries.size > MAX_SUMMARIES)
      this.summaries.delete(this.summaries.keys().next().value as string);
    return run;
  }
}

/**
 * The ended runs a server keeps within the retention's bytes and age (their steps' bodies
 * counted), oldest end first. A run that has not ended is live work, and is never forgotten.
 * On shared records each server counts the runs it ended (and, from its start, every run that had
 * ended), so the runs kept are within the sum of the servers' budgets.
 */
export class EndedRuns {
  private readonly ended = new Map<string, { bytes: number; at: Millis }>();
  private bytes = 0;

  constructor(private readonly limit: RetentionLimit) {}

  /** Counts an ended run; answers the runs to forget now (never this one: its effects read it). */
  add(run: Run, now: Millis): Array<{ id: string; at: Millis }> {
    let bytes = RUN_BYTES + stringBytes(run.response);
    for (const s of run.steps) bytes += STEP_BYTES + s.raw.body.length;
    this.remove(run.id);
    this.ended.set(run.id, { bytes, at: run.completedAt ?? now });
    this.bytes += bytes;
    const forget: Array<{ id: string; at: Millis }> = [];
    const { maxBytes, maxAgeMs } = this.limit;
    for (const [id, e] of this.ended) {
      if (id === run.id) break;
      if (this.bytes <= maxBytes && (maxAgeMs === null || now - e.at < maxAgeMs)) break;
      this.remove(id);
      forget.push({ id, at: e.at });
    }
    return forget;
  }

  /** A revived run is live again: no longer counted among the ended. */
  remove(runId: string): void {
    const e = this.ended.get(runId);
    if (e === undefined) return;
    this.ended.delete(runId);
    this.bytes -= e.bytes;
  }
}

export { dlqIdOf } from './message-log';
