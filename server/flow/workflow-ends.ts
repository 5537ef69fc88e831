/**
 * How a Workflow run follows the end of its calls. Every server follows every end (each gets
 * every batch of events, in `seq` order); the transition an end makes is a compare-and-set from
 * the state it expects (`endOfCall`), so it is made once, by the server whose write lands, and
 * the others find it made.
 */
import type { MessageEnded } from '../../shared/events';
import { attempt, type MaybePromise } from '../store/flow-store';
import type { Collection } from '../store/records';
import { chain, type RecordChange } from '../store/update-record';
import { dlqIdOf } from './workflow-records';
import { ended, type FailureCallbackState, type Run, type RunMessage } from './workflow-run';

function failureState(e: MessageEnded): FailureCallbackState {
  if (e.type === 'message:delivered') return 'CALLBACK_SUCCESS';
  return e.type === 'message:cancelled' ? 'CALLBACK_CANCELED' : 'CALLBACK_FAIL';
}

/**
 * One call's end, as a change of its run: the call leaves the run's live calls; a failure
 * callback's end sets its state; a step that failed for good fails the run. Answers the run
 * failed by this change (null: none, or the end was followed already, here or on another server).
 */
export function endOfCall(
  cur: Run | undefined,
  e: MessageEnded,
  doc: RunMessage,
): RecordChange<Run, Run | null> {
  const call = cur?.live.find((c) => c.id === e.messageId);
  if (cur === undefined || call === undefined) return { next: cur, result: null };
  const run: Run = { ...cur, live: cur.live.filter((c) => c !== call) };
  if (call.callType === 'failureCall') {
    const state = failureState(e);
    // Its publisher may not have recorded it yet (see `Run.failureEnd`).
    if (run.failure?.messageId === e.messageId) run.failure = { ...run.failure, state };
    else run.failureEnd = { messageId: e.messageId, state };
    return { next: run, result: null };
  }
  if (
    e.type !== 'message:dead-lettered' ||
    call.callType === 'toCallback' ||
    run.state !== 'RUN_STARTED'
  )
    return { next: run, result: null };
  run.failed = {
    messageId: e.messageId,
    index: call.index,
    callType: call.callType,
    payload: doc.payload,
  };
  run.dlqId = dlqIdOf(e.messageId);
  const failed = ended(run, 'RUN_FAILED', e.at);
  return { next: failed, result: failed };
}

/**
 * Ends to follow, in order: each batch's messages are looked up together, in one read (which were
 * calls of a run: most messages are not, and every server follows every end), then each call's end
 * is followed in turn. On shared records, batches that come while one
 * is followed wait, and are followed together after it. A failure is told, and the next end goes
 * on.
 */
export class EndQueue {
  private queued: MessageEnded[] = [];
  private following: Promise<void> | null = null;

  constructor(
    private readonly messages: Collection<RunMessage>,
    private readonly follow: (e: MessageEnded, doc: RunMessage) => MaybePromise<void>,
    private readonly warn: (msg: string, err?: unknown) => void,
  ) {}

  push(ends: readonly MessageEnded[]): void {
    if (this.following !== null) {
      this.queued.push(...ends);
      return;
    }
    const done = this.followAll(ends);
    if (done instanceof Promise) this.following = this.followQueued(done);
  }

  /** Resolves once every end pushed so far is followed (at once when none is under way). */
  settled(): Promise<void> | undefined {
    return this.following ?? undefined;
  }

  private async followQueued(first: Promise<void>): Promise<void> {
    try {
      await first;
      while (this.queued.length > 0) {
        const ends = this.queued;
        this.queued = [];
        await this.followAll(ends);
      }
    } finally {
      this.following = null;
    }
  }

  private followAll(ends: readonly MessageEnded[]): MaybePromise<void> {
    const docs = attempt(
      () => this.messages.getMany(ends.map((e) => e.messageId)),
      (found) => found,
      (err): Array<RunMessage | undefined> => {
        for (const e of ends)
          this.warn(`the run of message "${e.messageId}" could not be read`, err);
        return [];
      },
    );
    return chain(docs, (found) => {
      let done: MaybePromise<void> = undefined;
      for (let i = 0; i < ends.length; i++) {
        const doc = found[i];
        if (doc === undefined) continue;
        const e = ends[i]!;
        done = chain(done, () =>
          attempt(
            () => this.follow(e, doc),
            () => {},
            (err) => this.warn(`the end of message "${e.messageId}" could not reach its run`, err),
          ),
        );
      }
      return done;
    });
  }
}
