/**
 * How long the destination asks us to wait before retrying: `Retry-After`, `X-RateLimit-Reset`,
 * `X-RateLimit-Reset-Requests` or `X-RateLimit-Reset-Tokens`, in seconds, an HTTP date, or a
 * duration such as `6m5s`. Capped at one day, as QStash does. Null when none is usable.
 */
const HEADERS = [
  'retry-after',
  'x-ratelimit-reset',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
];
const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

export function parseRetryAfter(value: string, nowMs: number): number | null {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    // Large numbers are unix timestamps (X-RateLimit-Reset style), small ones are seconds.
    return n > 1_000_000_000 ? Math.max(0, n * 1000 - nowMs) : n * 1000;
  }
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(v)) {
    let total = 0;
    for (const [, n, unit] of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g))
      total += Number(n) * (UNIT_MS[unit as string] ?? 0);
    return total;
  }
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  nowMs: number,
): number | null {
  for (const name of HEADERS) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) continue;
    const ms = parseRetryAfter(value, nowMs);
    if (ms !== null) return Math.min(DAY_MS, Math.round(ms));
  }
  return null;
}
