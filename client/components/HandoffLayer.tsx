import { useEffect, useRef } from 'react';
// `interrupt` is imported for itself and so that the bundle keeps d3-transition, which adds
// `.transition()` to selections (d3 is marked free of side effects, so unused parts are dropped).
import { easeCubicInOut, interrupt, select, type Selection } from 'd3';
import { useAppStoreApi } from '../store/useAppStore';
import { ITEM, keyLayout, type Point } from '../viz/key-layout';
import { ACQUIRE_MS, HANDOFF_MS, RELEASE_MS, planMoves, type Move } from '../viz/handoff-plan';
import { circlePaths, diamondPaths, type RoughPath } from '../viz/rough-shapes';

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

/** Starts one movement; an earlier movement of the same token is interrupted and removed. */
function animate(layer: SVGGElement, m: Move): void {
  const root = select(layer);
  root.selectAll<SVGGElement, unknown>(`[data-token="${m.token}"]`).each(function () {
    interrupt(this, 'move');
    this.remove();
  });
  const ghost = (className: string, p: Point) =>
    root.append('g').attr('data-token', m.token).attr('class', className).attr('transform', at(p));
  const done = function (this: SVGGElement) {
    select(this).remove();
  };

  if (m.kind === 'handoff') {
    // The finished request fades where it stood; the token goes to the receiving waiter and
    // brings it back to the slot, as the docs' handoff story tells it.
    const finished = ghost('ghost ghost-finished', m.from).attr('opacity', 1);
    drawShape(finished, circlePaths(ITEM, 'request', 1));
    // An attribute, not a style: a style transition starts from getComputedStyle, which forces a
    // style recalculation in the middle of the frame for every handoff.
    finished
      .transition('move')
      .duration(HANDOFF_MS / 2)
      .attr('opacity', 0)
      .on('end', done)
      .on('interrupt', done);
    const waiter = ghost('ghost ghost-waiter', m.via);
    drawShape(waiter, circlePaths(ITEM, 'waiter', 2));
    waiter
      .transition('move')
      .delay(HANDOFF_MS / 2)
      .duration(HANDOFF_MS / 2)
      .ease(easeCubicInOut)
      .attr('transform', at(m.to))
      .on('end', done)
      .on('interrupt', done);
  }
  const token = ghost('ghost ghost-token', m.from);
  drawShape(token, diamondPaths(TOKEN, 1));
  const first = token.transition('move').ease(easeCubicInOut);
  if (m.kind === 'handoff') {
    first
      .duration(HANDOFF_MS / 2)
      .attr('transform', at(m.via))
      .transition()
      .duration(HANDOFF_MS / 2)
      .ease(easeCubicInOut)
      .attr('transform', at(m.to))
      .on('end', done)
      .on('interrupt', done);
  } else {
    first
      .duration(m.kind === 'acquire' ? ACQUIRE_MS : RELEASE_MS)
      .attr('transform', at(m.to))
      .on('end', done)
      .on('interrupt', done);
  }
}

/**
 * The one layer D3 owns: ghost tokens travelling between the static shapes React draws. It
 * listens to the store directly (no React state), plans each frame's movements from the layouts
 * before and after, and runs named transitions that a newer movement of the same token
 * interrupts. The static picture underneath is always the server's state.
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
