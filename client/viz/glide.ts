/**
 * When a key's drawn items should glide to their new places. A glide (the `.item` transition in
 * styles.css) shows the waitlist moving up one slot; once a key starts requests more often than
 * a glide lasts, its waiters are retargeted before they arrive, so they never rest and every frame
 * restyles and repaints them. Then they step instead: the picture is the same, the motion is not
 * worth its cost.
 */
import type { Point } from './key-layout';

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

/** What one list of a diagram does with a change: glide to it, step to it, or leave as it was. */
export type GlideMode = 'glide' | 'step' | 'keep';

/**
 * Whether one list's items may glide from where they were drawn (`before`, by id; null on the
 * first picture) to where they are now, without two of them ever overlapping and without the
 * motion running behind the state. Items sliding along their own row with one timing keep their
 * order and at least their end distance, so they never meet. Anything else steps: an item
 * changing row (it would cut across its neighbours), an item appearing while others move (it may
 * appear where one is leaving), a change arriving while the last glide is still running (it is
 * cut short: the items jump to the truth), and a key too busy to glide at all.
 */
export function glideMode(
  before: ReadonlyMap<string, Point> | null,
  after: ReadonlyArray<Point & { messageId: string }>,
  opts: { busy: boolean; gliding: boolean },
): GlideMode {
  if (before === null) return 'keep';
  let moved = 0;
  let fresh = 0;
  let changedRow = false;
  for (const item of after) {
    const was = before.get(item.messageId);
    if (was === undefined) fresh++;
    else if (was.x !== item.x || was.y !== item.y) {
      moved++;
      if (was.y !== item.y) changedRow = true;
    }
  }
  if (moved === 0) return fresh > 0 && opts.gliding ? 'step' : 'keep';
  return opts.busy || opts.gliding || fresh > 0 || changedRow ? 'step' : 'glide';
}
