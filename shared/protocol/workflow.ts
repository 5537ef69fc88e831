/**
 * The QStash side of the Upstash Workflow wire format, as `@upstash/workflow` (1.3.x) sends and
 * reads it (its `workflow-parser.ts`, `context/steps.ts` and `qstash/headers.ts` are the reference).
 *
 * A run's calls to its endpoint carry the run's steps so far as a JSON array of raw steps: the
 * first is the initial payload, each later one a step the SDK published. Bodies are base64.
 */
import { z } from 'zod';
import { bytesToBase64, toBytes } from './body';
import { InvalidRequest } from './invalid-request';

/** The step kinds of the SDK (`StepTypes`). */
export const STEP_TYPES = [
  'Initial',
  'Run',
  'SleepFor',
  'SleepUntil',
  'Call',
  'Wait',
  'Notify',
  'Invoke',
  'CreateWebhook',
  'WaitForWebhook',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

/**
 * How a workflow message relates to its run (`Upstash-Workflow-CallType`): a step call of the run
 * (the default), the third-party request of a `context.call`, that call's answer coming back, or
 * the run's failure callback.
 */
export type CallType = 'step' | 'toCallback' | 'fromCallback' | 'failureCall';
const CALL_TYPES: readonly CallType[] = ['step', 'toCallback', 'fromCallback', 'failureCall'];

/** One entry of a run's steps, as delivered and as `GET /v2/workflows/runs/{id}` answers. */
export interface RawStep {
  messageId: string;
  /** base64 of what was published: the initial payload, or a step's JSON. */
  body: string;
  callType: Exclude<CallType, 'failureCall'>;
}

/** A step as the SDK publishes it (the body of a step message). */
export const stepSchema = z
  .object({
    stepId: z.number().int().min(0),
    stepName: z.string().min(1),
    stepType: z.enum(STEP_TYPES),
    concurrent: z.number().int().min(1),
    targetStep: z.number().int().min(0).optional(),
    out: z.unknown().optional(),
  })
  .loose();
export type Step = z.infer<typeof stepSchema>;

/** `POST /v2/wait/{eventId}`: a run waits for an event, or for its timeout. */
const waitSchema = z.object({
  url: z.string(),
  timeout: z.union([z.string(), z.number()]).optional(),
  timeoutUrl: z.string().optional(),
  timeoutBody: z.unknown().optional(),
  timeoutHeaders: z.record(z.string(), z.array(z.string())).optional(),
  step: stepSchema,
});
export type WaitRequest = z.infer<typeof waitSchema>;

/** The body of a `context.invoke` trigger: what starts the invoked run, and where its result goes. */
const invokeSchema = z.object({
  body: z.string().optional(),
  headers: z.record(z.string(), z.array(z.string())),
  workflowRunId: z.string().min(1),
  workflowRunCreatedAt: z.number().optional(),
  workflowUrl: z.string(),
  step: stepSchema,
});
export type InvokeRequest = z.infer<typeof invokeSchema>;

function parseJson<T>(raw: string | undefined, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? '');
  } catch {
    throw new InvalidRequest(`${what} must be JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new InvalidRequest(`${what} is malformed${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A step message's body: `{stepId, stepName, stepType, concurrent, …}`. */
export const parseStep = (raw: string | undefined): Step =>
  parseJson(raw, stepSchema, 'a workflow step body');

export function parseWaitRequest(raw: string | undefined): WaitRequest {
  const w = parseJson(raw, waitSchema, 'a wait request body');
  absoluteUrl(w.url, 'url');
  if (w.timeoutUrl !== undefined) absoluteUrl(w.timeoutUrl, 'timeoutUrl');
  return w;
}

export function parseInvokeRequest(raw: string | undefined): InvokeRequest {
  const r = parseJson(raw, invokeSchema, 'a context.invoke body');
  absoluteUrl(r.workflowUrl, 'workflowUrl');
  return r;
}

/** `Upstash-Workflow-CallType`, `step` when absent. */
export function parseCallType(raw: string | undefined): CallType {
  if (raw === undefined) return 'step';
  const t = raw.trim();
  const found = CALL_TYPES.find((c) => c.toLowerCase() === t.toLowerCase());
  if (found === undefined)
    throw new InvalidRequest(
      `Upstash-Workflow-CallType must be one of ${CALL_TYPES.join(', ')}, got "${raw}"`,
    );
  return found;
}

/** A workflow's URL must be absolute http(s) (or `sim://` for the simulator). */
export function absoluteUrl(raw: string, what: string): string {
  if (!URL.canParse(raw) || !/^(https?|sim):\/\//i.test(raw)) {
    throw new InvalidRequest(`${what} "${raw}" is not an absolute http(s) URL`);
  }
  return raw;
}

/** A run id as the SDK writes it (`wfr_` and the caller's id); kept to printable ASCII. */
export function checkRunId(raw: string): string {
  if (raw.length === 0 || raw.length > 256 || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new InvalidRequest(
      `workflow run id "${raw.slice(0, 64)}" must be 1 to 256 printable characters`,
    );
  }
  return raw;
}

/** base64 of a body (or of a text's UTF-8), as raw steps carry it. */
export const toBase64 = (body: string | Uint8Array | undefined): string =>
  bytesToBase64(toBytes(body));

/** The UTF-8 text a base64 string holds. */
export function fromBase64(b64: string): string {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
