import { useId, type ReactNode } from 'react';
import type { ActiveRequest, KeyView, Waiter } from '../store/flow-state';
import { selectKey } from '../store/selectors';
import { useAppStore } from '../store/useAppStore';
import { formatPeriod, ordinal, shortId } from './format';

export interface KeyPanelProps {
  /** The flow-control key to show. */
  name: string;
}

/** One key drawn the way the Upstash docs draw it: free tokens, active requests, the waitlist. */
export function KeyPanel({ name }: KeyPanelProps) {
  const key = useAppStore(selectKey(name));
  if (key === undefined) return null;
  return (
    <section className="key" aria-label={`key ${key.key}`}>
      <header className="key-header">
        <h2>{key.key}</h2>
        <Limits k={key} />
      </header>
      <div className="columns">
        <Tokens k={key} />
        <Active k={key} />
        <Waitlist k={key} />
      </div>
    </section>
  );
}

function Limits({ k }: { k: KeyView }) {
  const rate =
    k.rate === null ? 'none' : `${k.rateCount}/${k.rate} per ${formatPeriod(k.periodMs)}`;
  return (
    <ul className="limits" aria-label="Limits">
      <li>
        parallelism {k.parallelism ?? 'unlimited'}
        {k.pinnedParallelism && ' (pinned)'}
      </li>
      <li>
        rate {rate}
        {k.pinnedRate && ' (pinned)'}
      </li>
      <li>{k.inFlight} in flight</li>
      <li>{k.waitListSize} waiting</li>
      {k.scheduled > 0 && <li>{k.scheduled} scheduled</li>}
      {k.paused && <li className="badge">paused</li>}
    </ul>
  );
}

/** A column with a title that names its list, as in the docs' diagrams. */
function Column({ title, children }: { title: string; children: (labelId: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="column">
      <h3 id={id}>{title}</h3>
      {children(id)}
    </div>
  );
}

function Tokens({ k }: { k: KeyView }) {
  const limit = k.parallelism;
  const held = new Set(k.active.map((a) => a.token));
  const free: number[] = [];
  if (limit !== null) for (let n = 1; n <= limit; n++) if (!held.has(n)) free.push(n);
  return (
    <Column title="Parallelism Tokens">
      {(labelId) =>
        limit === null ? (
          <p className="muted">No parallelism limit</p>
        ) : (
          <>
            <ul className="items" aria-labelledby={labelId}>
              {free.map((n) => (
                <li key={n} className="item" aria-label={`token ${n} of ${limit}, free`}>
                  <span className="diamond" aria-hidden="true" />
                </li>
              ))}
            </ul>
            {free.length === 0 && <p className="muted">No available token</p>}
          </>
        )
      }
    </Column>
  );
}

function activeLabel(a: ActiveRequest, limit: number | null): string {
  return limit !== null && a.token <= limit
    ? `token ${a.token} of ${limit}, held by ${a.messageId}`
    : `active ${a.messageId}`;
}

function Active({ k }: { k: KeyView }) {
  const active = [...k.active].sort((a, b) => a.token - b.token);
  return (
    <Column title="Active Requests">
      {(labelId) => (
        <ul className="items" aria-labelledby={labelId}>
          {active.map((a) => (
            <li key={a.messageId} className="item" aria-label={activeLabel(a, k.parallelism)}>
              <span className="request" aria-hidden="true">
                <span className="diamond" />
              </span>
              <span className="caption" title={a.messageId} aria-hidden="true">
                {shortId(a.messageId)}
                {a.attempt > 0 && ` · retry ${a.attempt}`}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Column>
  );
}

function Waitlist({ k }: { k: KeyView }) {
  const hidden = k.waitListSize - k.waiting.length;
  return (
    <Column title="Waitlist">
      {(labelId) => (
        <>
          <ol className="items" aria-labelledby={labelId}>
            {k.waiting.map((w: Waiter, i) => (
              <li
                key={w.messageId}
                className="item"
                aria-label={`waiting ${ordinal(i + 1)}, for ${w.reason}`}
              >
                <span className="waiter" aria-hidden="true" />
                <span className="caption" title={w.messageId} aria-hidden="true">
                  {ordinal(i + 1)} · {shortId(w.messageId)}
                </span>
              </li>
            ))}
          </ol>
          {hidden > 0 && <p className="muted">and {hidden} more</p>}
        </>
      )}
    </Column>
  );
}
