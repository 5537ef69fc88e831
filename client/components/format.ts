/** Small text helpers for labels; pure, so they are tested without a browser. */

/** 1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd". */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

/** A rate period in the wire's own units: 1000 → "1s", 90000 → "90s", 3600000 → "1h". */
export function formatPeriod(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A message id short enough for a caption: `msg_2kXh9…`. The full id is in the accessible name. */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 9)}…` : id;
}
