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

/** A duration for people: 850 → "0.9 s", 4200 → "4.2 s", 75000 → "1 min 15 s", 7200000 → "2 h". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s === 0 ? `${m} min` : `${m} min ${s} s`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A rate period as the docs label a window: 60000 → "1 min period", 10000 → "10 s period". */
export function periodLabel(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d period`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h period`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min period`;
  if (ms % 1000 === 0) return `${ms / 1000} s period`;
  return `${ms} ms period`;
}

/** A clock time with milliseconds, for the event log: "14:03:27.412". */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
