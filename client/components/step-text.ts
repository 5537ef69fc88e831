/**
 * How a Workflow step is named on the page: short enough for a caption under its circle, whole in
 * tooltips and accessible names. Pure, so it is tested without a browser.
 */
import type { WorkflowTag } from '../../shared/events';

/** Characters of a run id kept in a caption; SDK run ids (`wfr_` and 21 more) are longer. */
export const RUN_CHARS = 11;
/** Characters of a step name kept in a caption (the width of a captioned slot). */
export const STEP_CHARS = 14;

/**
 * A long id cut in the middle, keeping its prefix and its last characters, which tell ids apart:
 * `wfr_abc…xyz`. An id that fits is kept whole.
 */
export function cutMiddle(id: string, max = RUN_CHARS): string {
  if (id.length <= max) return id;
  const keep = max - 1;
  const tail = Math.floor(keep / 3);
  return `${id.slice(0, keep - tail)}…${id.slice(id.length - tail)}`;
}

/** A long name cut at the end: `send-welcome…`. */
export function cutEnd(text: string, max = STEP_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The two caption lines under a step's circle: its step name, then its run. */
export function stepCaption(tag: WorkflowTag): readonly [step: string, run: string] {
  return [cutEnd(tag.step), cutMiddle(tag.runId)];
}

/** One short line: `wfr_abc…xyz · send-email`. */
export function stepLabel(tag: WorkflowTag): string {
  return `${cutMiddle(tag.runId)} · ${tag.step}`;
}

/** The tooltip's line, ids whole: `Workflow run wfr_abc123, step send-email`. */
export function stepTitle(tag: WorkflowTag): string {
  return `Workflow run ${tag.runId}, step ${tag.step}`;
}

/** For accessible names, ids whole: `step send-email of run wfr_abc123`. */
export function stepPhrase(tag: WorkflowTag): string {
  return `step ${tag.step} of run ${tag.runId}`;
}
