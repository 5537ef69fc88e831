import { useEffect, useState } from 'react';
import { predictionInputOf, predictionSentences } from '../components/trigger-prediction';
import type { TriggerSpec } from '../components/trigger-plan';
import type { AppState, AppStore } from '../store/app-store';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { predict, type Prediction } from '../viz/predict';
import { useThrottledStore } from './useThrottledStore';

/** A prediction and its words, or why there is none. */
export type PredictionState =
  | { status: 'pending' }
  | { status: 'problem'; problem: string }
  | { status: 'ok'; prediction: Prediction; sentences: string[]; count: number };

/** How long the form must rest before the prediction is run again. */
const DEBOUNCE_MS = 250;
/** The key's own state changes with every event of a busy key: read it at most this often. */
const KEY_READ_MS = 1000;

const selectPolicy = (s: AppState) => s.flow.policy;

/**
 * Runs the predictor for `spec` when it changes (debounced) and when the key's state changes (at
 * most every second): what the burst would do if it were published now.
 */
export function usePrediction(spec: TriggerSpec, expectedMs: number): PredictionState {
  const store = useAppStoreApi();
  const keyName = spec.key;
  const key = useThrottledStore((s) => s.flow.keys[keyName], KEY_READ_MS);
  const policy = useAppStore(selectPolicy);
  const [state, setState] = useState<PredictionState>({ status: 'pending' });
  useEffect(() => {
    const timer = setTimeout(() => setState(predictNow(store, spec, expectedMs)), DEBOUNCE_MS);
    return () => clearTimeout(timer);
    // `key` and `policy` are read from the store inside; listed so that their changes predict anew.
  }, [store, spec, expectedMs, key, policy]);

  return state;
}

/** The prediction at this instant, for the publish itself (not debounced). */
export function predictNow(store: AppStore, s: TriggerSpec, expected: number): PredictionState {
  const flow = store.getState().flow;
  const k = flow.keys[s.key];
  const r = predictionInputOf(s, {
    key: k,
    now: Date.now() + flow.clockOffsetMs,
    policy: flow.policy,
    expectedMs: expected,
  });
  if ('problem' in r) return { status: 'problem', problem: r.problem };
  const prediction = predict(r.input);
  const sentences = predictionSentences(prediction, s.count, k);
  const d = s.destination;
  if (d.kind === 'sim' && d.jitterMs > 0)
    sentences.push(`Jitter (±${d.jitterMs} ms a request) is not predicted.`);
  if (d.kind === 'url') sentences.push(`Each request assumed to take ${expected} ms.`);
  return { status: 'ok', prediction, sentences, count: s.count };
}
