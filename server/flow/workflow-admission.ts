/**
 * How a Workflow message enters its run (see `Workflows.admit`): checked against the run as read,
 * then recorded by its `commit`, a compare-and-set on the run right before the engine takes the
 * message (so a run that ended meanwhile, on any server, refuses it).
 */
import type { MessageId } from '../../shared/engine/units';
import { bodyText } from '../../shared/protocol/body';
import type { MessagePayload, ParsedPublish } from '../../shared/protocol/publish';
import {
  parseInvokeRequest,
  parseStep,
  toBase64,
  type CallType,
  type InvokeRequest,
  type RawStep,
  type Step,
} from '../../shared/protocol/workflow';
import { after, type MaybePromise } from '../store/flow-store';
import { chain } from '../store/update-record';
import type { RunRecords } from './workflow-records';
import {
  hasEnded,
  notFound,
  type Admission,
  type LiveCall,
  type Run,
  type RunMessage,
  type WorkflowTag,
} from './workflow-run';

/**
 * Checks a Workflow message against its run and says how to publish it: a repeated trigger is
 * a duplicate; a later step needs its run to exist (404) and not to have ended (400: the SDK
 * then stops quietly, as after a cancel), and its body must be a step; it inherits the run's
 * flow control, retries and failure callback. Throws `InvalidRequest` and changes nothing.
 */
export function admit(docs: RunRecords, parsed: ParsedPublish): MaybePromise<Admission> {
  const wf = parsed.workflow;
  if (wf === undefined) throw new Error('admit takes Workflow messages only');
  return after(docs.get(wf.runId), (run): Admission => {
    if (wf.init && wf.callType === 'step') {
      if (run !== undefined)
        return { kind: 'duplicate', messageId: run.steps[0]!.raw.messageId as MessageId };
      return admitTrigger(docs, parsed);
    }
    if (run === undefined) throw notFound(wf.runId);
    return admitStep(docs, parsed, run);
  });
}

function admitTrigger(docs: RunRecords, parsed: ParsedPublish): Admission {
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
  const { input } = parsed;
  const payload = parsed.payload;
  return {
    kind: 'publish',
    parsed: tagged(parsed, wf.runId, 'start'),
    commit: (id, now) => {
      const call: LiveCall = { id, callType: 'step', index: 0, step: 'start' };
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
        live: [call],
      };
      // Another server may have started the same run since `admit` read it: then a duplicate.
      const created = docs.update<MessageId | null>(run.id, (cur) =>
        cur === undefined
          ? { next: run, result: null }
          : { next: cur, result: cur.steps[0]!.raw.messageId as MessageId },
      );
      return chain(created, (existing) =>
        existing !== null ? existing : recordMessage(docs, run.id, call, payload),
      );
    },
  };
}

/** Admits a later message of `run` (read by `admit`); see `admit`. */
function admitStep(docs: RunRecords, parsed: ParsedPublish, run: Run): Admission {
  const wf = parsed.workflow!;
  if (wf.revive !== undefined)
    return admitted(docs, parsed, run, wf.callType, null, wf.revive === 0 ? 'start' : 'resumed');
  if (wf.callType === 'failureCall')
    return admitted(docs, parsed, run, 'failureCall', null, 'failure function');
  if (run.state !== 'RUN_STARTED') throw hasEnded(run);
  if (wf.callType === 'toCallback') {
    // A context.call: the third party is called under the call's own flow control.
    const name = parsed.callback?.headers['upstash-forward-upstash-workflow-stepname'] ?? 'call';
    return admitted(docs, parsed, run, 'toCallback', null, name);
  }
  const inherited = inherit(parsed, run);
  if (wf.callType === 'fromCallback') {
    const name = parsed.payload.headers['upstash-workflow-stepname'] ?? 'call';
    return admitted(docs, inherited, run, 'fromCallback', null, `${name} (answer)`);
  }
  const step = parseStep(bodyText(parsed.payload.body));
  // A plan step (a parallel branch) runs that step; any other call brings a step's result and
  // runs whatever comes after it.
  const plan = step.stepId === 0 && step.targetStep !== undefined;
  return admitted(
    docs,
    inherited,
    run,
    'step',
    step,
    plan ? step.stepName : `after ${step.stepName}`,
  );
}

/** Later steps carry no flow control, retries or failure callback: they take the run's. */
function inherit(parsed: ParsedPublish, run: Run): ParsedPublish {
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

function admitted(
  docs: RunRecords,
  parsed: ParsedPublish,
  run: Run,
  callType: CallType,
  step: Step | null,
  name: string,
): Admission {
  const revive = parsed.workflow?.revive;
  // A revived message and a failure callback belong to a run that has ended; any other call
  // needs its run active, checked again where it is recorded (it may have ended meanwhile).
  const needsActive = revive === undefined && callType !== 'failureCall';
  return {
    kind: 'publish',
    parsed: tagged(parsed, run.id, name),
    commit: (id, now) => {
      const committed = docs.update(run.id, (cur) => {
        if (cur === undefined) throw notFound(run.id);
        if (needsActive && cur.state !== 'RUN_STARTED') throw hasEnded(cur);
        let steps = cur.steps;
        let index: number | null = revive ?? null;
        if (revive === undefined && callType !== 'failureCall') {
          const raw: RawStep = {
            messageId: id,
            body: toBase64(parsed.payload.body),
            callType: callType === 'step' ? 'step' : callType,
          };
          steps = [...steps, { raw, at: now, ...(step !== null ? { step } : {}) }];
          if (callType === 'step') index = steps.length - 1;
        }
        const call: LiveCall = { id, callType, index, step: name };
        return { next: { ...cur, steps, live: [...cur.live, call] }, result: call };
      });
      return chain(committed, (call) => recordMessage(docs, run.id, call, parsed.payload));
    },
  };
}

/** The message's own record (how its end finds its run), written after its run's. */
function recordMessage(
  docs: RunRecords,
  runId: string,
  call: LiveCall,
  payload: MessagePayload,
): MaybePromise<null> {
  const doc: RunMessage = { runId, payload };
  return after(docs.messages.put(call.id, doc), () => null);
}

/** The message as published, with the step it is (`LiveCall.step`) for the dashboard. */
function tagged(parsed: ParsedPublish, runId: string, step: string): ParsedPublish {
  const workflow: WorkflowTag = { runId, step };
  return { ...parsed, input: { ...parsed.input, workflow } };
}
