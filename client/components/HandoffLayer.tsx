import { useEffect, useRef } from 'react';
// `interrupt` is imported for itself and so that the bundle keeps d3-transition, which adds
// `.transition()` to selections (d3 is marked free of side effects, so unused parts are dropped).
import { easeCubicInOut, interrupt, select, type Selection } from 'd3';
import { useAppStoreApi } from '../store/useAppStore';
import { ITEM, keyLayout, type Point } from '../viz/key-layout';
import { tooBusyToGlide } from '../viz/glide';
import { ACQUIRE_MS, HANDOFF_MS, planMoves, type Move } from '../viz/handoff-plan';
import { diamondPaths, type RoughPath } from '../viz/rough-shapes';

export interface HandoffLayerProps {
  /** The key whose token movements to draw. */
  name: string;
  /** The diagram's width in SVG units (the layout is computed at this width). */
  width: number;
  /** Start no movements (the diagram is off screen): the static picture stays right regardless. */
  paused?: boolean;
}

const TOKEN = ITEM * 0.62;
const at = (p: Point) => `translate(${p.x},${p.y})`;

function drawShape(
  g: Selection<SVGGElement, unknown, null, undefined>,
  paths: readonly RoughPath[],
) {
  for (const p of paths) {
    g.append('path')
      .attr('d', p.d)
      .attr('stroke', p.stroke)
      .attr('stroke-width', p.strokeWidth)
      .attr('fill', p.fill ?? 'none');
  }
}

/**
 * Starts one movement; an earlier movement of the same token is interrupted and removed. Only the
 * token travels: the requests at both ends are drawn by React as they are now, from the first
 * frame (a finished request is simply gone, a receiving one already active), so the ghost adds a
 * path to the picture and never stands in for a part of it. A token going back to the pool is not
 * drawn travelling: the free token is there at once, marked by its ring.
 */
function animate(layer: SVGGElement, m: Move): void {
  if (m.kind === 'release') return;
  const root = select(layer);
  root.selectAll<SVGGElement, unknown>(`[data-token="${m.token}"]`).each(function () {
    interrupt(this, 'move');
    this.remove();
  });
  const done = function (this: SVGGElement) {
    select(this).remove();
  };
  // A handoff's token comes from where the receiving waiter stood; an acquired one from the pool.
  const from = m.kind === 'handoff' ? m.via : m.from;
  const token = root
    .append('g')
    .attr('data-token', m.token)
    .attr('class', 'ghost ghost-token')
    .attr('transform', at(from));
  drawShape(token, diamondPaths(TOKEN, 1));
  token
    .transition('move')
    .ease(easeCubicInOut)
    .duration(m.kind === 'handoff' ? HANDOFF_MS : ACQUIRE_MS)
    .attr('transform', at(m.to))
    .on('end', done)
    .on('interrupt', done);
}

/**
 * The one layer D3 owns: ghost tokens travelling between the static shapes React draws. It
 * listens to the store directly (no React state), plans each frame's movements from the layouts
 * before and after, and runs named transitions that a newer movement of the same token
 * interrupts; a key too busy to glide gets none. The static picture underneath is always the
 * state the page has applied, whole, in every frame.
 */
export function HandoffLayer({ name, width, paused = false }: HandoffLayerProps) {
  const store = useAppStoreApi();
  const ref = useRef<SVGGElement>(null);
  // Read by the subscription, so pausing does not resubscribe (and lose the frame in between).
  const pausedRef = useRef(paused);
  useEffect(() => {
    pausedRef.current = paused;
  }, [paused]);
  useEffect(() => {
    const layer = ref.current;
    if (layer === null) return;
    const reduced = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    const off = store.subscribe((s, prev) => {
      if (reduced || pausedRef.current || s.activity.frame === prev.activity.frame) return;
      const events = s.activity.frameEvents.filter((e) => e.key === name);
      const after = s.flow.keys[name];
      if (events.length === 0 || after === undefined) return;
      // Starting requests faster than a token can travel: skip the movements, show the state.
      if (tooBusyToGlide(s.histories.get(name)?.starts ?? [], s.flow.at)) return;
      const before = prev.flow.keys[name];
      // With each side's Workflow steps, so the layouts match the ones the diagram drew.
      const moves = planMoves(
        before === undefined ? null : keyLayout({ ...before, steps: prev.flow.workflows }, width),
        keyLayout({ ...after, steps: s.flow.workflows }, width),
        events,
      );
      for (const m of moves) animate(layer, m);
    });
    return () => {
      off();
      for (const el of [...layer.children]) {
        interrupt(el, 'move');
        el.remove();
      }
    };
  }, [store, name, width]);
  return <g ref={ref} className="handoff-layer" aria-hidden="true" />;
}
