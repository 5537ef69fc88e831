import { ms, type Millis } from './units';

/**
 * The fixed rate window holding `now`. Windows follow each other without gaps from `start`
 * (`[start + n·period, start + (n+1)·period)`), so the dashboard can draw them on a time axis;
 * the count is kept only while `now` is still inside the window it belongs to.
 */
export function windowAt(
  start: Millis,
  periodMs: Millis,
  count: number,
  now: Millis,
): { start: Millis; count: number } {
  if (now < start + periodMs) return { start, count };
  const elapsed = Math.floor((now - start) / periodMs);
  return { start: ms(start + elapsed * periodMs), count: 0 };
}
