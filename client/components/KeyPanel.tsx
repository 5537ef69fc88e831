import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useNow } from '../hooks/useNow';
import type { KeyView } from '../store/flow-state';
import {
  selectArrival,
  selectGlobalInFlight,
  selectGlobalParallelism,
  selectIsSelected,
  selectKey,
  selectKeySteps,
} from '../store/selectors';
import { useAppStore, useAppStoreApi } from '../store/useAppStore';
import { explainWait } from './explain-wait';
import { formatPeriod } from './format';
import { KeyCharts } from './KeyCharts';
import { KeyControls } from './KeyControls';
import { ParallelismDiagram } from './ParallelismDiagram';
import { RateTimeline } from './RateTimeline';
import { WhyWaiting } from './WhyWaiting';

export interface KeyPanelProps {
  /** The flow-control key to show. */
  name: string;
}

/**
 * One key, the way the Upstash docs draw it and then some: the parallelism diagram with its
 * handoffs, the rate windows, live charts, the controls, and why its waiters wait.
 */
export function KeyPanel({ name }: KeyPanelProps) {
  const store = useAppStoreApi();
  const k = useAppStore(selectKey(name));
  const arrival = useAppStore(selectArrival(name));
  const steps = useAppStore(useShallow(selectKeySteps(name)));
  const selected = useAppStore(selectIsSelected(name));
  const globalParallelism = useAppStore(selectGlobalParallelism);
  const globalInFlight = useAppStore(selectGlobalInFlight);
  const now = useNow(1000);
  // Only what starts after this view appeared is animated in; the rest is simply there.
  const [mountedAt] = useState(() => store.getState().flow.at);
  const [explaining, setExplaining] = useState<string | null>(null);
  if (k === undefined) return null;
  const why = explainWait(k, { now, globalParallelism, globalInFlight });
  return (
    <section className="key" aria-label={`key ${k.key}`}>
      <header className="key-header">
        <h2>{k.key}</h2>
        <Limits k={k} />
        <button
          type="button"
          className="link"
          aria-pressed={selected}
          onClick={() => store.getState().keyToggled(k.key)}
        >
          {selected ? 'Unpin view' : 'Keep in view'}
        </button>
      </header>
      <KeyControls k={k} />
      <ParallelismDiagram
        k={k}
        steps={steps}
        arrival={arrival}
        mountedAt={mountedAt}
        reason={k.waitListSize > 0 ? why.reason : null}
        onExplain={setExplaining}
      />
      {explaining !== null && (
        <WhyWaiting k={k} messageId={explaining} onClose={() => setExplaining(null)} />
      )}
      {k.rate !== null && <RateTimeline k={{ ...k, rate: k.rate }} arrival={arrival} />}
      <KeyCharts name={k.key} />
    </section>
  );
}

function Limits({ k }: { k: KeyView }) {
  const rate = k.rate === null ? 'none' : `${k.rate} per ${formatPeriod(k.periodMs)}`;
  return (
    <ul className="limits" aria-label="Limits">
      <li>
        parallelism {k.parallelism ?? 'unlimited'}
        {k.pinnedParallelism && <span className="tag pinned"> pinned</span>}
      </li>
      <li>
        rate {rate}
        {k.pinnedRate && <span className="tag pinned"> pinned</span>}
      </li>
      <li>{k.inFlight} in flight</li>
      <li>{k.waitListSize} waiting</li>
      {k.scheduled > 0 && <li>{k.scheduled} scheduled</li>}
      {k.paused && <li className="tag paused">paused</li>}
    </ul>
  );
}
