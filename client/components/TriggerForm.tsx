import { useEffect, useMemo, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import { predictNow, usePrediction } from '../hooks/usePrediction';
import { startPublishRun, type PublishRun } from '../net/publish-run';
import { RunWatch } from '../store/run-watch';
import { useAppStoreApi } from '../store/useAppStore';
import { PredictionPanel, type PublishedRun } from './PredictionPanel';
import {
  destinationOf,
  flowControlValue,
  problemWith,
  publishOffsets,
  type Pattern,
  type PeriodUnit,
  type TriggerSpec,
} from './trigger-plan';

interface Fields {
  key: string;
  parallelism: string;
  rate: string;
  period: string;
  periodUnit: PeriodUnit;
  count: string;
  pattern: Pattern;
  spreadSeconds: string;
  perSecond: string;
  target: 'sim' | 'url';
  durationMs: string;
  jitterMs: string;
  failPercent: string;
  url: string;
}

const initial: Fields = {
  key: 'demo',
  parallelism: '2',
  rate: '',
  period: '10',
  periodUnit: 's',
  count: '5',
  pattern: 'burst',
  spreadSeconds: '5',
  perSecond: '2',
  target: 'sim',
  durationMs: '1500',
  jitterMs: '0',
  failPercent: '0',
  url: 'https://',
};

const optional = (raw: string) => (raw.trim() === '' ? null : Number(raw));

function specOf(f: Fields): TriggerSpec {
  return {
    key: f.key.trim(),
    parallelism: optional(f.parallelism),
    rate: optional(f.rate),
    period: Number(f.period) || 1,
    periodUnit: f.periodUnit,
    count: Number(f.count),
    pattern: f.pattern,
    spreadSeconds: Number(f.spreadSeconds),
    perSecond: Number(f.perSecond),
    destination:
      f.target === 'url'
        ? { kind: 'url', url: f.url }
        : {
            kind: 'sim',
            durationMs: Number(f.durationMs),
            jitterMs: Number(f.jitterMs),
            failPercent: Number(f.failPercent),
          },
  };
}

/**
 * Publishes a run of messages through the public API, exactly as a QStash client would: a key
 * with its limits, how many, in what pattern, to the simulator or a real URL. Anyone can watch
 * tokens move without writing an endpoint.
 */
export function TriggerForm() {
  const store = useAppStoreApi();
  const [fields, setFields] = useState<Fields>(initial);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const run = useRef<PublishRun | null>(null);
  useEffect(() => () => run.current?.cancel(), []);
  const spec = useMemo(() => specOf(fields), [fields]);
  const expectedMs = Number(fields.durationMs);
  const live = usePrediction(spec, expectedMs);
  // The last published run, drawn over its prediction until the form changes.
  const [published, setPublished] = useState<PublishedRun | null>(null);
  useEffect(() => () => published?.watch.close(), [published]);

  const field = (name: keyof Fields) => ({
    name,
    value: fields[name],
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
      setFields((f) => ({ ...f, [name]: e.target.value }));
      // A changed form asks a new question: back to the live prediction.
      setPublished(null);
    },
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const problem = problemWith(spec);
    if (problem !== null) {
      setResult({ ok: false, text: `Not sent: ${problem}` });
      return;
    }
    setResult(null);
    const offsets = publishOffsets(spec);
    setProgress({ sent: 0, total: offsets.length });
    store.getState().triggerPublished(spec.key);
    // Predicted as it goes out (not the debounced one, which may lag a keystroke), and watched
    // from before the first publish: its events may come before the publish call answers.
    const predicted = predictNow(store, spec, Number(fields.durationMs));
    const watch = new RunWatch(store, spec.key, offsets.length);
    if (predicted.status === 'ok')
      setPublished({
        prediction: predicted.prediction,
        sentences: predicted.sentences,
        count: offsets.length,
        watch,
      });
    else watch.close();
    const value = flowControlValue(spec);
    const r = startPublishRun(
      destinationOf(spec),
      { key: spec.key, ...(value !== undefined ? { value } : {}) },
      offsets,
      (p) => {
        setProgress(p);
        watch.setIds(p.ids);
      },
    );
    run.current = r;
    const { sent, ids, error } = await r.done;
    run.current = null;
    // A run stopped early is over when what was sent has ended.
    watch.setIds(ids, true);
    setProgress(null);
    setResult(
      error === undefined
        ? { ok: true, text: `Published ${sent} to ${spec.key}` }
        : { ok: false, text: `Published ${sent}, then: ${error.message}` },
    );
  }

  const busy = progress !== null;
  return (
    <form className="panel trigger" aria-label="Trigger" onSubmit={(e) => void submit(e)}>
      <h2>Trigger</h2>
      <div className="row">
        <label className="wide">
          Key
          <input {...field('key')} required />
        </label>
        <label>
          Parallelism
          <input {...field('parallelism')} type="number" min={1} placeholder="none" />
        </label>
        <label>
          Rate
          <input {...field('rate')} type="number" min={1} placeholder="none" />
        </label>
        <label>
          Period
          <span className="pair">
            <input {...field('period')} type="number" min={1} aria-label="Period" />
            <select {...field('periodUnit')} aria-label="Period unit">
              <option value="s">s</option>
              <option value="m">min</option>
              <option value="h">h</option>
              <option value="d">d</option>
            </select>
          </span>
        </label>
      </div>
      <div className="row">
        <label>
          Count
          <input {...field('count')} type="number" min={1} max={10000} required />
        </label>
        <label>
          Pattern
          {/* Named explicitly: a wrapping label would also read out the options' text. */}
          <select {...field('pattern')} aria-label="Pattern">
            <option value="burst">all at once</option>
            <option value="spread">spread over N s</option>
            <option value="steady">steady rate</option>
          </select>
        </label>
        {fields.pattern === 'spread' && (
          <label>
            Over (s)
            <input {...field('spreadSeconds')} type="number" min={0} step="any" />
          </label>
        )}
        {fields.pattern === 'steady' && (
          <label>
            Per second
            <input {...field('perSecond')} type="number" min={0.01} step="any" />
          </label>
        )}
      </div>
      <fieldset className="row">
        <legend>Destination</legend>
        <label className="radio">
          <input
            type="radio"
            name="target"
            value="sim"
            checked={fields.target === 'sim'}
            onChange={field('target').onChange}
          />
          simulated
        </label>
        <label className="radio">
          <input
            type="radio"
            name="target"
            value="url"
            checked={fields.target === 'url'}
            onChange={field('target').onChange}
          />
          real URL
        </label>
      </fieldset>
      {fields.target === 'sim' ? (
        <div className="row">
          <label>
            Duration (ms)
            <input {...field('durationMs')} type="number" min={0} required />
          </label>
          <label>
            Jitter (ms)
            <input {...field('jitterMs')} type="number" min={0} />
          </label>
          <label>
            Failures (%)
            <input {...field('failPercent')} type="number" min={0} max={100} />
          </label>
        </div>
      ) : (
        <div className="row">
          <label className="wide">
            URL
            <input {...field('url')} type="url" required />
          </label>
          <label>
            {/* A real endpoint's time is not known: the prediction takes the person's guess. */}
            Expected (ms)
            <input {...field('durationMs')} type="number" min={0} />
          </label>
        </div>
      )}
      <div className="row actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? `Publishing… ${progress.sent} of ${progress.total}` : 'Publish'}
        </button>
        {busy && (
          <button type="button" onClick={() => run.current?.cancel()}>
            Stop
          </button>
        )}
      </div>
      {result !== null && (
        <p className={result.ok ? 'muted' : 'error'} role={result.ok ? undefined : 'alert'}>
          {result.text}
        </p>
      )}
      <PredictionPanel live={live} run={published} />
    </form>
  );
}
