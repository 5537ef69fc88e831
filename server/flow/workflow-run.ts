/**
 * The records of a Workflow run as the server keeps them (see `Workflows`, which owns them), and
 * the types its collaborators share.
 */
import type { WorkflowTag } from '../../shared/events';
import type { FlowConfig } from '../../shared/engine/types';
import type { KeyId, MessageId, Millis } from '../../shared/engine/units';
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
  /** Messages of the run that have not ended. */
  live: Set<MessageId>;
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
}

/** A live message of a run. */
export interface LiveMessage {
  run: Run;
  callType: CallType;
  /** Index of its step in `run.steps` for a step call (the steps delivered end there); else null. */
  index: number | null;
  tag: WorkflowTag;
  payload: MessagePayload;
}

/** How a Workflow message is to be published. */
export type Admission =
  | { kind: 'duplicate'; messageId: MessageId }
  | {
      kind: 'publish';
      parsed: ParsedPublish;
      /** Records the message under its run; call right before the engine takes it. */
      commit(id: MessageId, now: Millis): void;
    };

/** Publishes a parsed message (the Publisher's `publish`), late-bound. */
export type PublishFn = (parsed: ParsedPublish) => MaybePromise<{ messageId: MessageId }>;
