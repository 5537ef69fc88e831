import type { MessageId } from '../../shared/engine/units';
import { InvalidRequest } from '../../shared/protocol/invalid-request';
import { REDACTED, shownHeaders } from '../../shared/protocol/redact';
import { fromBase64 } from '../../shared/protocol/workflow';
import { after, all, type MaybePromise } from '../store/flow-store';
import type { LoggedMessage, MessageReads } from './message-log';
import type { Run, RunState, StepRecord, Workflows } from './workflows';

const RUN_STATES: readonly RunState[] = [
  'RUN_STARTED',
  'RUN_SUCCESS',
  'RUN_FAILED',
  'RUN_CANCELED',
];

/** Which runs a logs query or a bulk action names (the Workflow client's filters). */
export interface RunFilter {
  workflowRunId?: string;
  workflowRunIds?: Set<string>;
  workflowUrl?: string;
  /** `workflowUrl` must equal the run's URL (else it is a prefix). */
  exactUrl: boolean;
  workflowCreatedAt?: number;
  state?: RunState;
  label?: string;
  flowControlKey?: string;
  fromDate?: number;
  toDate?: number;
}

/**
 * Reads a run filter from a query, refusing what it does not know (a filter silently ignored
 * would widen a bulk cancel to every run). `extra` names further parameters the caller reads.
 */
export function parseRunFilter(q: URLSearchParams, extra: readonly string[]): RunFilter {
  const known = new Set([
    'workflowRunId',
    'workflowRunIds',
    'workflowUrl',
    'workflowUrlExactMatch',
    'workflowCreatedAt',
    'state',
    'label',
    'flowControlKey',
    'fromDate',
    'toDate',
    ...extra,
  ]);
  for (const name of q.keys()) {
    if (!known.has(name)) throw new InvalidRequest(`unknown filter "${name}"`);
  }
  const num = (name: string): number | undefined => {
    const raw = q.get(name);
    if (raw === null) return undefined;
    if (!/^\d+$/.test(raw))
      throw new InvalidRequest(`${name} must be unix milliseconds, got "${raw}"`);
    return Number(raw);
  };
  const state = q.get('state');
  if (state !== null && !RUN_STATES.includes(state as RunState))
    throw new InvalidRequest(`state must be one of ${RUN_STATES.join(', ')}, got "${state}"`);
  const ids = q.getAll('workflowRunIds');
  const f: RunFilter = { exactUrl: q.get('workflowUrlExactMatch') === 'true' };
  const str = (name: 'workflowRunId' | 'workflowUrl' | 'label' | 'flowControlKey') => {
    const v = q.get(name);
    if (v !== null) f[name] = v;
  };
  str('workflowRunId');
  str('workflowUrl');
  str('label');
  str('flowControlKey');
  if (ids.length > 0) f.workflowRunIds = new Set(ids);
  if (state !== null) f.state = state as RunState;
  const createdAt = num('workflowCreatedAt');
  if (createdAt !== undefined) f.workflowCreatedAt = createdAt;
  const from = num('fromDate');
  if (from !== undefined) f.fromDate = from;
  const to = num('toDate');
  if (to !== undefined) f.toDate = to;
  return f;
}

export function matchesRun(run: Run, f: RunFilter): boolean {
  if (f.workflowRunId !== undefined && run.id !== f.workflowRunId) return false;
  if (f.workflowRunIds !== undefined && !f.workflowRunIds.has(run.id)) return false;
  if (f.workflowUrl !== undefined) {
    if (f.exactUrl ? run.url !== f.workflowUrl : !run.url.startsWith(f.workflowUrl)) return false;
  }
  if (f.workflowCreatedAt !== undefined && run.createdAt !== f.workflowCreatedAt) return false;
  if (f.state !== undefined && run.state !== f.state) return false;
  if (f.label !== undefined && !(run.label ?? '').split(',').includes(f.label)) return false;
  if (f.flowControlKey !== undefined && run.key !== f.flowControlKey) return false;
  if (f.fromDate !== undefined && run.createdAt < f.fromDate) return false;
  if (f.toDate !== undefined && run.createdAt > f.toDate) return false;
  return true;
}

/** A page size and a cursor (an offset, as text) from a query. */
export function parsePage(
  q: URLSearchParams,
  defaultCount: number,
): { count: number; offset: number } {
  const countRaw = q.get('count');
  const cursorRaw = q.get('cursor');
  if (countRaw !== null && !/^\d+$/.test(countRaw))
    throw new InvalidRequest(`count must be a whole number, got "${countRaw}"`);
  if (cursorRaw !== null && cursorRaw !== '' && !/^\d+$/.test(cursorRaw))
    throw new InvalidRequest(`cursor "${cursorRaw}" is not one this server gave out`);
  const count = countRaw === null ? defaultCount : Math.min(Number(countRaw), 1000);
  return { count, offset: cursorRaw === null || cursorRaw === '' ? 0 : Number(cursorRaw) };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

type StepLog = Record<string, unknown>;

function stepLog(s: StepRecord, m: LoggedMessage | undefined): StepLog {
  const headers = Object.fromEntries(
    Object.entries(shownHeaders(m?.payload.headers ?? {}, m?.payload.redact)).map(([k, v]) => [
      k,
      [v],
    ]),
  );
  const base = {
    messageId: s.raw.messageId,
    callType: s.raw.callType,
    state: 'STEP_SUCCESS',
    createdAt: s.at,
    retries: Math.max(0, (m?.attempts.length ?? 1) - 1),
    headers,
  };
  if (s.step === undefined) {
    return {
      ...base,
      stepId: 0,
      stepName: 'init',
      stepType: 'Initial',
      out: m?.payload.redact?.body === true ? REDACTED : fromBase64(s.raw.body),
      concurrent: 1,
    };
  }
  const { stepId, stepName, stepType, concurrent, out, ...rest } = s.step;
  return {
    ...base,
    ...rest,
    stepId,
    stepName,
    stepType,
    concurrent,
    out: typeof out === 'string' ? tryJson(out) : out,
  };
}

/** Plan steps (a parallel branch about to run) and call bodies are not results. */
const isResult = (s: StepRecord): boolean =>
  s.raw.callType === 'step' && (s.step === undefined || s.step.stepId !== 0);

/**
 * A run as `GET /v2/workflows/events` shows it (the SDK's `WorkflowRunLog`), with what the
 * message log says of its steps' messages (read together).
 */
export function describeRun(
  run: Run,
  workflows: Workflows,
  log: MessageReads,
): MaybePromise<ReturnType<typeof runLog>> {
  const ids = [
    ...run.steps.filter(isResult).map((s) => s.raw.messageId as MessageId),
    ...run.live.map((c) => c.id),
  ];
  return after(all(ids.map((id) => log.get(id))), (found) => {
    const messages = new Map<string, LoggedMessage>();
    for (const m of found) if (m !== undefined) messages.set(m.messageId, m);
    return runLog(run, workflows, messages);
  });
}

function runLog(run: Run, workflows: Workflows, messages: Map<string, LoggedMessage>) {
  const groups: Array<{ type: 'sequential' | 'parallel' | 'next'; steps: unknown[] }> = [];
  let parallel: { type: 'parallel'; steps: StepLog[]; of: number } | null = null;
  for (const s of run.steps) {
    if (!isResult(s)) continue;
    const entry = stepLog(s, messages.get(s.raw.messageId));
    const concurrent = s.step?.concurrent ?? 1;
    if (concurrent <= 1) {
      parallel = null;
      groups.push({ type: 'sequential', steps: [entry] });
      continue;
    }
    if (parallel === null || parallel.steps.length >= parallel.of) {
      parallel = { type: 'parallel', steps: [], of: concurrent };
      groups.push(parallel);
    }
    parallel.steps.push(entry);
  }
  const next = [];
  for (const live of workflows.liveOf(run)) {
    if (live.callType === 'failureCall') continue;
    const m = messages.get(live.id);
    const errors = (m?.attempts ?? [])
      .filter((a) => a.error !== undefined || (a.status !== undefined && a.status >= 300))
      .map((a) => ({
        error: a.error ?? `status ${a.status}`,
        body: a.error ?? '',
        headers: {},
        status: a.status ?? 0,
        time: a.endedAt ?? a.startedAt,
      }));
    next.push({
      messageId: live.id,
      stepName: live.tag.step,
      state: m?.status === 'retry-scheduled' ? 'STEP_RETRY' : 'STEP_PROGRESS',
      retries: Math.max(0, (m?.attempts.length ?? 0) - 1),
      ...(m?.payload.retryDelay !== undefined ? { retryDelay: m.payload.retryDelay } : {}),
      ...(errors.length > 0 ? { errors } : {}),
    });
  }
  if (next.length > 0) groups.push({ type: 'next', steps: next });
  const f = run.failure;
  return {
    workflowRunId: run.id,
    workflowUrl: run.url,
    workflowState: run.state,
    workflowRunCreatedAt: run.createdAt,
    ...(run.completedAt !== undefined ? { workflowRunCompletedAt: run.completedAt } : {}),
    ...(run.response !== undefined ? { workflowRunResponse: run.response } : {}),
    ...(run.key !== undefined ? { flowControlKey: run.key } : {}),
    ...(run.dlqId !== undefined ? { dlqId: run.dlqId } : {}),
    ...(run.label !== undefined
      ? { label: run.label.split(',')[0], labels: run.label.split(',') }
      : {}),
    ...(run.invoker !== undefined
      ? {
          invoker: {
            workflowRunId: run.invoker.workflowRunId,
            workflowUrl: run.invoker.workflowUrl,
            workflowRunCreatedAt: run.invoker.workflowRunCreatedAt ?? 0,
          },
        }
      : {}),
    ...(f !== undefined
      ? {
          failureFunction: {
            messageId: f.messageId,
            url: f.url,
            state: f.state,
            failHeaders: f.failHeaders,
            failStatus: f.failStatus,
            failResponse: f.failResponse,
            dlqId: run.dlqId ?? '',
          },
        }
      : {}),
    steps: groups,
  };
}
