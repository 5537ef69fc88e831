import { useId, useSyncExternalStore } from 'react';
import type { PredictionState } from '../hooks/usePrediction';
import { useNow } from '../hooks/useNow';
import type { RunWatch } from '../store/run-watch';
import type { Prediction } from '../viz/predict';
import { MAX_ROWS } from '../viz/timeline-layout';
import { formatDuration } from './format';
import { PredictionTimeline, type RealRun } from './PredictionTimeline';
import { comparisonText } from './trigger-prediction';

/** A published run: the prediction made as it was published, and the watch on what it does. */
export interface PublishedRun {
  prediction: Prediction;
  sentences: readonly string[];
  count: number;
  watch: RunWatch;
}

export interface PredictionPanelProps {
  /** The live prediction of the form as it stands. */
  live: PredictionState;
  /** The last run published from the form, until the form changes. */
  run: PublishedRun | null;
}

/**
 * "Predict, then watch": the form's burst as the engine expects it to go, in a drawing and in
 * words; once published, the real run drawn over the prediction and the two totals compared.
 */
export function PredictionPanel({ live, run }: PredictionPanelProps) {
  if (run !== null) return <RunComparison run={run} />;
  if (live.status !== 'ok')
    return (
      <section className="prediction" aria-label="Prediction" data-state="none">
        <h3>Prediction</h3>
        <p className="muted">
          {live.status === 'pending' ? 'Predicting…' : `No prediction: ${live.problem}.`}
        </p>
      </section>
    );
  return (
    <Frame
      title="Prediction"
      state="predicted"
      prediction={live.prediction}
      sentences={live.sentences}
      count={live.count}
    />
  );
}

function RunComparison({ run }: { run: PublishedRun }) {
  const view = useSyncExternalStore(run.watch.subscribe, () => run.watch.view());
  // Ticks while the run goes on, so what still runs grows; at rest once it is over.
  const now = useNow(view.done || view.lost ? 3_600_000 : 250);
  const s = view.summary;
  // Once over, nothing runs on: the drawing ends with the last end (the clock is at rest).
  const nowMs =
    view.done || view.lost
      ? s.lastEndMs
      : view.origin === null
        ? 0
        : Math.max(0, now - view.origin);
  const predicted = run.prediction.summary.totalMs;
  let line: string;
  if (view.done && s.totalMs !== null) {
    line =
      predicted === null
        ? `Real ${formatDuration(s.totalMs)}`
        : comparisonText(predicted, s.totalMs);
    line += ` · real longest wait ${formatDuration(s.longestWaitMs)}`;
  } else if (view.lost) {
    line = `Real: ${s.ended} of ${run.count} seen to end; the page missed some events (it resynced).`;
  } else {
    line = `Real: ${s.ended} of ${run.count} ended, ${formatDuration(nowMs)} so far…`;
  }
  return (
    <Frame
      title="Predicted, then real"
      state={view.done ? 'done' : 'running'}
      prediction={run.prediction}
      sentences={run.sentences}
      count={run.count}
      real={{ rows: view.rows, totalMs: s.totalMs, lastEndMs: s.lastEndMs, nowMs }}
      realLine={line}
      realTotalMs={view.done ? s.totalMs : null}
    />
  );
}

interface FrameProps {
  title: string;
  state: 'predicted' | 'running' | 'done';
  prediction: Prediction;
  sentences: readonly string[];
  count: number;
  real?: RealRun;
  realLine?: string;
  realTotalMs?: number | null;
}

function Frame({
  title,
  state,
  prediction,
  sentences,
  count,
  real,
  realLine,
  realTotalMs,
}: FrameProps) {
  const summaryId = useId();
  const total = prediction.summary.totalMs;
  return (
    <section
      className="prediction"
      aria-label="Prediction"
      data-state={state}
      data-predicted-ms={total ?? undefined}
      data-predicted-longest-wait-ms={prediction.summary.longestWaitMs}
      data-real-ms={realTotalMs ?? undefined}
    >
      <h3>{title}</h3>
      <p id={summaryId} className="prediction-summary">
        {sentences.join(' ')}
        {count > MAX_ROWS && ` The first ${MAX_ROWS} of ${count} are drawn.`}
      </p>
      <PredictionTimeline
        predicted={prediction.rows}
        predictedTotalMs={total}
        {...(real !== undefined ? { real } : {})}
        describedBy={summaryId}
      />
      <Legend real={real !== undefined} retries={prediction.summary.failedAttempts > 0} />
      {realLine !== undefined && (
        <p className="prediction-real" aria-live="polite">
          {realLine}
        </p>
      )}
    </section>
  );
}

/** What the marks mean, drawn with the marks themselves. */
function Legend({ real, retries }: { real: boolean; retries: boolean }) {
  return (
    <ul className="prediction-legend" aria-label="Legend">
      <li>
        <svg viewBox="0 0 22 10" aria-hidden="true">
          <line className="seg wait" x1={1} x2={21} y1={5} y2={5} />
        </svg>
        waits
      </li>
      <li>
        <svg viewBox="0 0 22 10" aria-hidden="true">
          <rect className="swatch-run" x={1} y={1} width={20} height={8} rx={3} />
        </svg>
        runs (predicted)
      </li>
      {retries && (
        <>
          <li>
            <svg viewBox="0 0 22 10" aria-hidden="true">
              <rect className="swatch-failed" x={1} y={1} width={20} height={8} rx={3} />
            </svg>
            fails
          </li>
          <li>
            <svg viewBox="0 0 22 10" aria-hidden="true">
              <line className="seg backoff" x1={1} x2={21} y1={5} y2={5} />
            </svg>
            backoff before a retry
          </li>
        </>
      )}
      {real && (
        <li>
          <svg viewBox="0 0 22 10" aria-hidden="true">
            <rect className="swatch-real" x={1} y={3} width={20} height={4} rx={1.5} />
          </svg>
          real
        </li>
      )}
    </ul>
  );
}
