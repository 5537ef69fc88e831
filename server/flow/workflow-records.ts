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
 * Besides, per server: the ended runs retention forgets.
 */
import type { Millis } from '../../shared/engine/units';
import type { MaybePromise } from '../store/flow-store';
import { jsonCodec, type Collection, type Records } from '../store/records';
import { updateRecord, type RecordChange } from '../store/update-record';
import { stringBytes, type RetentionLimit } from './retention';
import type { Run, RunMessage } from './workflow-run';

/** A run without its steps and strings: the record, its Map slot, its sets and timestamps. */
const RUN_BYTES = 600;
/** One step of a run beyond its base64 body: its records, message id and parsed step. */
const STEP_BYTES = 300;
/** The runs and their live messages in the records; see the file's comment. */
export class RunRecords {
  private readonly runs: Collection<Run>;
  readonly messages: Collection<RunMessage>;

  constructor(records: Records) {
    this.runs = records.collection('workflow-runs', jsonCodec<Run>());
    this.messages = records.collection('workflow-messages', jsonCodec<RunMessage>());
  }

  get(runId: string): MaybePromise<Run | undefined> {
    return this.runs.get(runId);
  }

  /** Every run, in the order they were first triggered. */
  list(): MaybePromise<Run[]> {
    return this.runs.list();
  }

  /** A compare-and-set change of the run (see `updateRecord`; `change` must not modify its input). */
  update<R>(
    runId: string,
    change: (current: Run | undefined) => RecordChange<Run, R>,
  ): MaybePromise<R> {
    return updateRecord(this.runs, runId, change);
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
