/**
 * A QStash publish request (destination and `Upstash-*` headers) read into what the engine takes
 * and what is delivered. Bad input throws `InvalidRequest`, a 400 for the caller.
 */
import type { FlowConfig, PublishInput } from '../engine/types';
import { ms, type KeyId, type Millis } from '../engine/units';
import { toBytes } from './body';
import { parseDuration } from './duration';
import { parseFlowControlHeaders } from './flow-control';
import { InvalidRequest } from './invalid-request';
import { parseRetryDelay } from './retry-delay';
import { parseSimDestination } from './sim-destination';
import { parseRedactFields, type Redaction } from './redact';
import { absoluteUrl, checkRunId, parseCallType, type CallType } from './workflow';

/** What is sent when a message is delivered (everything but flow control). */
export interface MessagePayload {
  destination: string;
  method: string;
  headers: Record<string, string>;
  /** The bytes published, delivered as they are (absent when empty). */
  body?: Uint8Array;
  /** Longest an attempt may take (`Upstash-Timeout`); the server's default when absent. */
  timeoutMs?: number;
  /** `Upstash-Retry-Delay`, in ms over `retried`; the default backoff when absent. */
  retryDelay?: string;
  /** `Upstash-Redact-Fields`: what is never shown (logs, reads, dead letters); delivery is whole. */
  redact?: Redaction;
}

/**
 * Headers a caller may not forward (`Upstash-Forward-X`): they would break the request (its
 * framing, its connection) or send it elsewhere (`Host`).
 */
const NOT_FORWARDABLE = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'http2-settings',
]);

const NO_HEADERS: Record<string, string> = Object.freeze({});

function hasOwnKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** Headers QStash hands to the destination as they are. */
const PASSED_THROUGH = /^upstash-(workflow-|feature-set$|label$)/;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** QStash's plans cap retries; 100 keeps a typo from scheduling a message for months. */
const MAX_RETRIES = 100;

/** What a Workflow message's `Upstash-Workflow-*` headers say. */
export interface WorkflowHeaders {
  runId: string;
  /** `Upstash-Workflow-Init: true`: the message that starts the run. */
  init: boolean;
  callType: CallType;
  /** `Upstash-Workflow-Url`: the run's endpoint. */
  url?: string;
  /** `Upstash-Workflow-Invoke: true`: a run started by another run's `context.invoke`. */
  invoke: boolean;
  /**
   * Set by the server only, never read from a header: a failed run's message published again
   * from the dead-letter list, delivering the run's steps up to this index (null: not a step call).
   */
  revive?: number | null;
}

/** Lower-cased header names to string values (repeated headers already joined). */
export type HeaderBag = Record<string, string | undefined>;

export interface ParsedPublish {
  input: Omit<PublishInput, 'id'>;
  payload: MessagePayload;
  deduplicationId?: string;
  contentBasedDeduplication: boolean;
  label?: string;
  /** `Upstash-Callback`: published when the message is delivered, from its `Upstash-Callback-*` headers. */
  callback?: { url: string; headers: HeaderBag };
  /** `Upstash-Failure-Callback`: published when the message fails for good. */
  failureCallback?: { url: string; headers: HeaderBag };
  /** Set on Workflow messages (`Upstash-Workflow-RunId`). */
  workflow?: WorkflowHeaders;
  /** The URL group this message was published through (set by the server, never by a header). */
  urlGroup?: string;
}

/**
 * The headers of a callback message: `Upstash-Callback-X` (or `Upstash-Failure-Callback-X`)
 * becomes the callback's own `Upstash-X`, so it is parsed like any publish.
 */
export function callbackHeaders(
  headers: HeaderBag,
  prefix: 'upstash-callback-' | 'upstash-failure-callback-',
): HeaderBag {
  const out: HeaderBag = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name.startsWith(prefix))
      out[`upstash-${name.slice(prefix.length)}`] = value;
  }
  return out;
}

/**
 * Validates a destination: an absolute `http(s)://` URL, or `sim://…` for the simulator.
 * The caller passes it raw (with its query string), exactly as it came after `/v2/publish/`.
 */
export function parseDestination(raw: string): string {
  if (raw === '')
    throw new InvalidRequest('destination is missing: POST /v2/publish/{destination}');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidRequest(
      `destination "${raw}" is not an absolute URL (http://, https:// or sim://)`,
    );
  }
  if (url.protocol === 'sim:') parseSimDestination(raw);
  else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidRequest(`destination "${raw}" must use http, https or sim`);
  }
  return raw;
}

function parseRetries(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = raw.trim();
  if (!/^\d+$/.test(t) || Number(t) > MAX_RETRIES) {
    throw new InvalidRequest(
      `Upstash-Retries must be a whole number from 0 to ${MAX_RETRIES}, got "${raw}"`,
    );
  }
  return Number(t);
}

/** `Upstash-Timeout`: `<n>s|m|h` (or bare seconds), at least 1 s and at most 2 h. */
function parseTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const d = parseDuration(raw, false);
  if (d === null || d < 1000 || d > 7_200_000) {
    throw new InvalidRequest(
      `Upstash-Timeout must be like 30s, 5m or 1h (1 s to 2 h), got "${raw}"`,
    );
  }
  return d;
}

/** `Upstash-Not-Before` (unix seconds) wins over `Upstash-Delay` (`1d10h30m`, or seconds). */
function parseNotBefore(headers: HeaderBag, now: Millis): Millis | undefined {
  const nb = headers['upstash-not-before'];
  if (nb !== undefined) {
    if (!/^\d+$/.test(nb.trim()))
      throw new InvalidRequest(`Upstash-Not-Before must be unix seconds, got "${nb}"`);
    return ms(Number(nb.trim()) * 1000);
  }
  const delay = headers['upstash-delay'];
  if (delay === undefined) return undefined;
  const d = parseDuration(delay);
  if (d === null)
    throw new InvalidRequest(`Upstash-Delay must be like 10s, 5m or 1d10h30m, got "${delay}"`);
  return d === 0 ? undefined : ms(now + d);
}

function checkCallback(what: string, url: string, headers: HeaderBag, now: Millis): void {
  try {
    parsePublish(url, headers, undefined, now);
  } catch (err) {
    if (!(err instanceof InvalidRequest)) throw err;
    // `Upstash-Retries` of the callback is the caller's `Upstash-Callback-Retries`.
    const message = err.message.replace(/\bUpstash-(?!Callback|Failure-Callback)/g, `${what}-`);
    throw new InvalidRequest(`${what}: ${message}`);
  }
}

function parseWorkflowHeaders(runId: string, headers: HeaderBag): WorkflowHeaders {
  const url = headers['upstash-workflow-url'];
  return {
    runId: checkRunId(runId.trim()),
    init: headers['upstash-workflow-init']?.trim().toLowerCase() === 'true',
    callType: parseCallType(headers['upstash-workflow-calltype']),
    ...(url !== undefined ? { url: absoluteUrl(url.trim(), 'Upstash-Workflow-Url') } : {}),
    invoke: headers['upstash-workflow-invoke']?.trim().toLowerCase() === 'true',
  };
}

/** Reads a publish request's headers into the engine's input and the payload to deliver. */
export function parsePublish(
  destination: string,
  headers: HeaderBag,
  body: string | Uint8Array | undefined,
  now: Millis,
): ParsedPublish {
  const bytes = toBytes(body);
  const dest = parseDestination(destination);
  const flow: { key: KeyId; config: FlowConfig } | undefined = parseFlowControlHeaders(
    headers['upstash-flow-control-key'],
    headers['upstash-flow-control-value'],
  );
  const method = (headers['upstash-method'] ?? 'POST').trim().toUpperCase();
  if (!METHODS.has(method)) {
    throw new InvalidRequest(
      `Upstash-Method must be one of ${[...METHODS].join(', ')}, got "${headers['upstash-method']}"`,
    );
  }
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name.startsWith('upstash-forward-') && name.length > 'upstash-forward-'.length) {
      const target = name.slice('upstash-forward-'.length);
      if (NOT_FORWARDABLE.has(target))
        throw new InvalidRequest(
          `Upstash-Forward-${target} cannot be forwarded: the delivery sets its own ${target}`,
        );
      forwarded[target] = value;
    } else if (PASSED_THROUGH.test(name)) {
      // Workflow's serve() reads these on every step request.
      forwarded[name] = value;
    }
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined) forwarded['content-type'] = contentType;
  const retries = parseRetries(headers['upstash-retries']);
  const retryDelay = headers['upstash-retry-delay'];
  if (retryDelay !== undefined) parseRetryDelay(retryDelay);
  const timeoutMs = parseTimeout(headers['upstash-timeout']);
  const redact = parseRedactFields(headers['upstash-redact-fields']);
  const notBefore = parseNotBefore(headers, now);
  const callbackUrl = headers['upstash-callback'];
  const failureUrl = headers['upstash-failure-callback'];
  // A callback is a publish of its own, from its prefixed headers: checked the same way now,
  // rather than found bad (and silently never sent) when the message ends.
  if (callbackUrl !== undefined)
    checkCallback(
      'Upstash-Callback',
      callbackUrl,
      callbackHeaders(headers, 'upstash-callback-'),
      now,
    );
  if (failureUrl !== undefined)
    checkCallback(
      'Upstash-Failure-Callback',
      failureUrl,
      callbackHeaders(headers, 'upstash-failure-callback-'),
      now,
    );
  const dedup = headers['upstash-deduplication-id'];
  if (dedup !== undefined && (dedup.trim() === '' || dedup.length > 256)) {
    throw new InvalidRequest('Upstash-Deduplication-Id must be 1 to 256 characters');
  }
  const runId = headers['upstash-workflow-runid'];
  return {
    deduplicationId: dedup?.trim(),
    contentBasedDeduplication:
      headers['upstash-content-based-deduplication']?.trim().toLowerCase() === 'true',
    ...(headers['upstash-label'] !== undefined ? { label: headers['upstash-label'] } : {}),
    ...(callbackUrl !== undefined
      ? { callback: { url: callbackUrl, headers: callbackHeaders(headers, 'upstash-callback-') } }
      : {}),
    ...(failureUrl !== undefined
      ? {
          failureCallback: {
            url: failureUrl,
            headers: callbackHeaders(headers, 'upstash-failure-callback-'),
          },
        }
      : {}),
    ...(runId !== undefined ? { workflow: parseWorkflowHeaders(runId, headers) } : {}),
    input: {
      ...(flow !== undefined ? { key: flow.key, config: flow.config } : {}),
      ...(retries !== undefined ? { retries } : {}),
      ...(notBefore !== undefined ? { notBefore } : {}),
    },
    // One shape for every payload (absent fields are undefined, not missing), and one shared
    // empty header object: a waiting message's payload is as small as V8 makes an object.
    payload: {
      destination: dest,
      method,
      headers: hasOwnKeys(forwarded) ? forwarded : NO_HEADERS,
      body: bytes,
      timeoutMs,
      retryDelay,
      redact,
    },
  };
}
