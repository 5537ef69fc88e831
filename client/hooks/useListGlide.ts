import { useLayoutEffect, useRef, type RefObject } from 'react';
import { GLIDE_MS, glideMode } from '../viz/glide';

/**
 * Lets one list of a diagram glide only when its items cannot overlap or lag (see `glideMode`):
 * otherwise the list gets the class `step` (its items jump, and a glide still running is cut
 * short). Set after React's commit and before the browser styles the frame, so the transition
 * the browser starts, or does not, is the one decided for this very change.
 */
export function useListGlide(
  list: RefObject<SVGGElement | null>,
  items: ReadonlyArray<{ messageId: string; x: number; y: number }>,
  busy: boolean,
): void {
  const drawn = useRef<Map<string, { x: number; y: number }> | null>(null);
  const glidingUntil = useRef(0);
  useLayoutEffect(() => {
    const el = list.current;
    const now = performance.now();
    const mode = glideMode(drawn.current, items, { busy, gliding: now < glidingUntil.current });
    if (el !== null && mode !== 'keep') el.classList.toggle('step', mode === 'step');
    if (mode === 'glide') glidingUntil.current = now + GLIDE_MS;
    if (mode === 'step') glidingUntil.current = 0;
    drawn.current = new Map(items.map((i) => [i.messageId, { x: i.x, y: i.y }]));
  });
}
