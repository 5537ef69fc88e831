import { memo, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useNow } from '../hooks/useNow';
import { useThrottledStore } from '../hooks/useThrottledStore';
import { selectHistoryVersion, selectKeyCounts } from '../store/selectors';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { waitSamples } from '../store/wait-samples';
import { percentileBuckets, percentiles } from '../viz/percentiles';
import { formatDuration } from './format';
import { LineChart, type ChartSeries } from './LineChart';

export interface KeyChartsProps {
  /** The key whose history to chart. */
  name: string;
}

/** The charts show the last minute, or less while the page has seen less of the key. */
const SPAN_MS = 60_000;
const MIN_SPAN_MS = 10_000;
const BUCKET_MS = 5_000;

/** A wait-time tick: 500 → "500ms", 2500 → "2.5s". */
const tick = (v: number) => (v < 1000 ? `${v}ms` : `${v / 1000}s`);

/** What the wait percentiles cover: "4 started, 58 still waiting" (those by their age so far). */
const counted = ({ started, waiting }: { started: number; waiting: number }) =>
  [started > 0 ? `${started} started` : '', waiting > 0 ? `${waiting} still waiting` : '']
    .filter(Boolean)
    .join(', ');

const ms = (v: number) => (v < 1000 ? `${Math.round(v)} ms` : formatDuration(v));

/**
 * The key's last minute: in flight against the limit, the waitlist's size, and the wait before
 * start (p50/p95/p99 per 5 s, of the starts and of the waiters' ages so far). The history and the
 * percentiles are computed twice a second, whatever the event rate; the counts' subtitles and the
 * last step of their lines come from the key's live counts, so they agree with the key's header on
 * every frame. Memoized: the key panel's render with every frame of events does not redraw them,
 * and a change of the live counts redraws only the chart it concerns.
 */
export const KeyCharts = memo(function KeyCharts({ name }: KeyChartsProps) {
  const store = useAppStoreApi();
  const version = useThrottledStore(selectHistoryVersion, 500);
  const now = useNow(500);
  const live = useAppStore(useShallow(selectKeyCounts(name)));
  const charts = useMemo(() => {
    // `version` is the dependency that says the mutable history moved.
    void version;
    const state = store.getState();
    const h = state.histories.get(name);
    const points = h?.points ?? [];
    const first = points[0]?.t ?? now;
    const span = Math.min(SPAN_MS, Math.max(MIN_SPAN_MS, Math.ceil((now - first) / 5000) * 5000));
    const bucketMs = span <= 20_000 ? 2_000 : BUCKET_MS;
    // The waiters' ages so far count beside the starts, in the subtitle and in the last bucket
    // alike, so the two always tell the same waits.
    const waits = waitSamples(
      h?.waits ?? [],
      state.flow.keys[name]?.waiting ?? [],
      now,
      now - span,
    );
    const buckets = percentileBuckets(waits.samples, now, span, bucketMs);
    return {
      inFlight: points.map((p) => ({ t: p.t, v: p.inFlight })),
      limit: points.filter((p) => p.limit !== null).map((p) => ({ t: p.t, v: p.limit ?? 0 })),
      waiting: points.map((p) => ({ t: p.t, v: p.waiting })),
      p50: buckets.map((b) => ({ t: b.t, v: b.p50 })),
      p95: buckets.map((b) => ({ t: b.t, v: b.p95 })),
      p99: buckets.map((b) => ({ t: b.t, v: b.p99 })),
      span,
      bucketMs,
      waits,
      overall: percentiles(waits.samples.map((w) => w.waitedMs)),
    };
  }, [store, name, version, now]);
  const { overall, waits, bucketMs } = charts;
  const inFlight = live?.inFlight;
  const limit = live?.limit;
  const waiting = live?.waiting;
  const countSeries = useMemo(
    (): ChartSeries[] => [
      { name: 'limit', points: charts.limit, className: 'limit' },
      { name: 'in flight', points: charts.inFlight, className: 'in-flight' },
    ],
    [charts],
  );
  const countLive = useMemo(
    () =>
      inFlight === undefined
        ? undefined
        : { 'in flight': inFlight, ...(limit == null ? {} : { limit }) },
    [inFlight, limit],
  );
  const waitingSeries = useMemo(
    (): ChartSeries[] => [{ name: 'waiting', points: charts.waiting, className: 'waiting' }],
    [charts],
  );
  const waitingLive = useMemo(() => (waiting === undefined ? undefined : { waiting }), [waiting]);
  const waitSeries = useMemo(
    (): ChartSeries[] => [
      { name: 'p99', points: charts.p99, className: 'p99', bucketMs },
      { name: 'p95', points: charts.p95, className: 'p95', bucketMs },
      { name: 'p50', points: charts.p50, className: 'p50', bucketMs },
    ],
    [charts, bucketMs],
  );
  return (
    <div className="charts" role="group" aria-label="Charts">
      <LineChart
        title="In flight vs limit"
        now={now}
        spanMs={charts.span}
        summary={live === undefined ? 'no data yet' : `${live.inFlight} of ${live.limit ?? '∞'}`}
        series={countSeries}
        live={countLive}
      />
      <LineChart
        title="Waitlist size"
        now={now}
        spanMs={charts.span}
        summary={live === undefined ? 'no data yet' : `${live.waiting} waiting`}
        series={waitingSeries}
        live={waitingLive}
      />
      <LineChart
        title="Wait before start"
        now={now}
        spanMs={charts.span}
        integer={false}
        yFloor={1000}
        tickFormat={tick}
        summary={
          overall === null
            ? 'no starts or waiters seen yet'
            : `p50 ${ms(overall.p50)} · p95 ${ms(overall.p95)} · p99 ${ms(overall.p99)} (${counted(waits)})`
        }
        series={waitSeries}
      />
    </div>
  );
});
