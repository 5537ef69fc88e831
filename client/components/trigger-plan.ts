/**
 * What the trigger form publishes: the flow-control header, the destination, and when each
 * message goes out. Pure, so the patterns are tested without timers.
 */

export type Pattern = 'burst' | 'spread' | 'steady';
export type PeriodUnit = 's' | 'm' | 'h' | 'd';

export interface TriggerSpec {
  key: string;
  /** Empty: not limited by this message. */
  parallelism: number | null;
  rate: number | null;
  period: number;
  periodUnit: PeriodUnit;
  count: number;
  pattern: Pattern;
  /** `spread`: the messages go out evenly over this many seconds. */
  spreadSeconds: number;
  /** `steady`: this many messages per second. */
  perSecond: number;
  destination:
    | { kind: 'sim'; durationMs: number; jitterMs: number; failPercent: number }
    | { kind: 'url'; url: string };
}

/** The `Upstash-Flow-Control-Value`, e.g. `parallelism=3, rate=2, period=10s`; undefined if none. */
export function flowControlValue(spec: TriggerSpec): string | undefined {
  const parts: string[] = [];
  if (spec.parallelism !== null) parts.push(`parallelism=${spec.parallelism}`);
  if (spec.rate !== null)
    parts.push(`rate=${spec.rate}`, `period=${spec.period}${spec.periodUnit}`);
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** Where the messages go: Baton's simulator with the chosen timing and failures, or a real URL. */
export function destinationOf(spec: TriggerSpec): string {
  const d = spec.destination;
  if (d.kind === 'url') return d.url.trim();
  const q = [`duration=${d.durationMs}ms`];
  if (d.jitterMs > 0) q.push(`jitter=${d.jitterMs}ms`);
  if (d.failPercent > 0) q.push(`fail=${Math.min(100, d.failPercent) / 100}`);
  return `sim://work?${q.join('&')}`;
}

/** When each message goes out, in ms from the start (all 0 for a burst). */
export function publishOffsets(spec: TriggerSpec): number[] {
  const n = Math.max(0, Math.floor(spec.count));
  switch (spec.pattern) {
    case 'burst':
      return Array.from({ length: n }, () => 0);
    case 'spread': {
      // Evenly over the span, the first at once and the last at its end.
      const span = Math.max(0, spec.spreadSeconds) * 1000;
      return Array.from({ length: n }, (_, i) => (n <= 1 ? 0 : Math.round((i * span) / (n - 1))));
    }
    case 'steady': {
      const gap = 1000 / Math.max(0.001, spec.perSecond);
      return Array.from({ length: n }, (_, i) => Math.round(i * gap));
    }
  }
}

/** What is wrong with the spec, in words, or null when it can be sent. */
export function problemWith(spec: TriggerSpec): string | null {
  if (spec.key.trim() === '') return 'a key is needed';
  if (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > 10_000)
    return 'count must be a whole number from 1 to 10000';
  if (spec.destination.kind === 'url' && !/^https?:\/\/\S+$/.test(spec.destination.url.trim()))
    return 'the URL must start with http:// or https://';
  return null;
}
