/**
 * `Upstash-Redact-Fields`: what a caller asked never to be shown — the body, every header, or
 * named headers (`body,header[Authorization]`). The message is delivered whole; logs, message
 * reads and the dead-letter list show `REDACTED` instead.
 */
import { describeBody } from './body';
import { InvalidRequest } from './invalid-request';

export interface Redaction {
  body: boolean;
  /** Every header, or these (lower-cased). */
  headers: true | readonly string[];
}

export const REDACTED = 'REDACTED';

export function parseRedactFields(raw: string | undefined): Redaction | undefined {
  if (raw === undefined) return undefined;
  let body = false;
  let all = false;
  const named: string[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    if (part === 'body') body = true;
    else if (part === 'header') all = true;
    else {
      const m = /^header\[([!#$%&'*+.^_`|~0-9A-Za-z-]+)\]$/.exec(part);
      if (m === null)
        throw new InvalidRequest(
          `Upstash-Redact-Fields: "${part}" is not body, header or header[Name]`,
        );
      named.push(m[1]!.toLowerCase());
    }
  }
  if (!body && !all && named.length === 0) return undefined;
  return { body, headers: all ? true : named };
}

/** Headers as shown: a redacted one keeps its name, its value is `REDACTED`. */
export function shownHeaders(
  headers: Record<string, string>,
  r: Redaction | undefined,
): Record<string, string> {
  if (r === undefined || (r.headers !== true && r.headers.length === 0)) return headers;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const hidden = r.headers === true ? k !== 'content-type' : r.headers.includes(k);
    out[k] = hidden ? REDACTED : v;
  }
  return out;
}

/** A body as shown (see `describeBody`), or `REDACTED`. */
export function shownBody(
  body: Uint8Array | undefined,
  r: Redaction | undefined,
): { body: string } | { bodyBase64: string } {
  return r?.body === true && body !== undefined ? { body: REDACTED } : describeBody(body);
}
