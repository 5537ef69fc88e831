/**
 * The records of a Workflow run as the server keeps them (see `Workflows`, which owns them, and
 * `RunRecords`, where they live), the types its collaborators share, and the few rules every
 * change of a run uses (its errors, its end). Every type here is a
 * document: plain JSON (bodies as `Uint8Array`s, which the records' codec keeps as bytes), so a
 * run reads the same on every server and after a restart.
 */
import type { WorkflowTag } from '../../shared/events';
import type { FlowConfig } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import type { HeaderBag, MessagePayload, ParsedPublish } from '../../shared/protocol/publish';
import type { CallType, InvokeRequest, RawStep, Step } from '../../shared/protocol/workflow';
import type { MaybePromise } from '../store/flow-store';

export type RunState = 'RUN_STARTED' | 'RUN_SUCCESS' | 'RUN_FAILED' | 'RUN_CANCELED';
export type FailureCallbackState =
  'CALLBACK_INPROGRESS' | 'CALLBACK_SUCCESS' | 'CALLBACK_FAIL' | 'CALLBACK_CANCELED';

/** What the dashboard shows of a message that belongs to a run (the stream's contract). */
export type { WorkflowTag };

/** One entry of a run's steps, with what Baton knows of it beyond the wire format. */
export interface StepRecord {
  raw: RawStep;
  at: Millis;
  /** The step as published (absent for the initial payload and for call bodies). */
  step?: Step;
}

/** The failure callback a failed run published (for logs, and to retry it from the DLQ). */
export interface RunFailure {
  messageId: MessageId;
  url: string;
  state: FailureCallbackState;
  failStatus: number;
  failResponse: string;
  failHeaders: Record<string, string[]>;
  /** What was published, to publish it again. */
  headers: HeaderBag;
  body: string;
}

/** A message of a run that has not ended. */
export interface LiveCall {
  id: MessageId;
  callType: CallType;
  /** Index of its step in `Run.steps` for a step call (the steps delivered end there); else null. */
  index: number | null;
  /** What the call does, as the dashboard names it (`WorkflowTag.step`). */
  step: string;
}

export interface Run {
  id: string;
  url: string;
  createdAt: Millis;
  state: RunState;
  completedAt?: Millis;
  /** What the run returned (the body of its final `DELETE /v2/workflows/runs/{id}`). */
  response?: string;
  /** Inherited by every later step: the SDK sends these on the trigger only. */
  key?: KeyId;
  config?: FlowConfig;
  retries?: number;
  retryDelay?: string;
  failureCallback?: { url: string; headers: HeaderBag };
  /** The trigger's own headers for the endpoint (the user's), sent with every call of the run. */
  userHeaders: Record<string, string>;
  label?: string;
  /** The trigger message as published, to restart the run from the DLQ. */
  trigger: MessagePayload;
  steps: StepRecord[];
  /** Messages of the run that have not ended, oldest first. */
  live: LiveCall[];
  /** The run that started this one with `context.invoke`, and where its result goes. */
  invoker?: InvokeRequest;
  /** The message that failed the run: its step index, to resume it. */
  failed?: {
    messageId: MessageId;
    index: number | null;
    callType: CallType;
    payload: MessagePayload;
  };
  dlqId?: string;
  failure?: RunFailure;
  /**
   * How the failure callback's message ended, when its end was followed before its publisher
   * recorded it as `failure` (servers race for that on Redis); `failure` then takes it.
   */
  failureEnd?: { messageId: MessageId; state: FailureCallbackState };
}

/**
 * A live message of a run, by its id: how the server that follows its end finds its run, and what
 * the run keeps of it if it fails the run (its payload, to resume the run from it).
 */
export interface RunMessage {
  runId: string;
  payload: MessagePayload;
}

/** How a Workflow message is to be published. */
export type Admission =
  | { kind: 'duplicate'; messageId: MessageId }
  | {
      kind: 'publish';
      parsed: ParsedPublish;
      /**
       * Records the message under its run; call right before the engine takes it. Answers null,
       * or the trigger of the run when another server started the same run meanwhile (the
       * message is then a duplicate of it, and nothing was recorded).
       */
      commit(id: MessageId, now: Millis): MaybePromise<MessageId | null>;
    };

/** Publishes a parsed message (the Publisher's `publish`), late-bound. */
export type PublishFn = (parsed: ParsedPublish) => MaybePromise<{ messageId: MessageId }>;

export const notFound = (runId: string) =>
  new InvalidRequest(`workflow run "${runId}" not found`, 404);

export const hasEnded = (run: Run, status?: 404) =>
  new InvalidRequest(`workflow run "${run.id}" has ended (${run.state})`, status);

/** The run as it ends: its state and end time set. */
export function ended(run: Run, state: Exclude<RunState, 'RUN_STARTED'>, now: Millis): Run {
  return { ...run, state, completedAt: now };
}
