/**
 * When a key's drawn items should glide to their new places. A glide (the `.item` transition in
 * styles.css) shows the waitlist moving up one slot; once a key starts requests more often than
 * a glide lasts, its waiters are retargeted before they arrive, so they never rest and every frame
 * restyles and repaints them. Then they step instead: the picture is the same, the motion is not
 * worth its cost.
 */

/** How long one glide lasts (keep in step with `.item { transition }` in styles.css). */
export const GLIDE_MS = 280;

/** Looking back this far for starts; a second keeps the decision steady between frames. */
const WINDOW_MS = 1000;

/**
 * Starts within WINDOW_MS from which the gaps between them are, on average, shorter than a glide:
 * n starts span n - 1 gaps, and WINDOW_MS holds at most WINDOW_MS / GLIDE_MS glides.
 */
export const BUSY_STARTS = Math.floor(WINDOW_MS / GLIDE_MS) + 2;

/**
 * True when `starts` (start times in ms, oldest first, as the history keeps them) hold at least
 * BUSY_STARTS in the second up to `now`.
 */
export function tooBusyToGlide(starts: readonly number[], now: number): boolean {
  let n = 0;
  for (let i = starts.length - 1; i >= 0 && n < BUSY_STARTS; i--) {
    const t = starts[i]!;
    if (t <= now - WINDOW_MS) break;
    if (t <= now) n++;
  }
  return n >= BUSY_STARTS;
}
