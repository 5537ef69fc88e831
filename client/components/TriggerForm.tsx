import { useState, type ChangeEvent, type FormEvent } from 'react';
import { publish } from '../net/api';

interface Fields {
  key: string;
  parallelism: string;
  count: string;
  durationMs: string;
}

/**
 * Publishes a burst to a simulated destination through the public API, exactly as `curl` would,
 * so anyone can watch tokens move without writing an endpoint.
 */
export function TriggerForm() {
  const [fields, setFields] = useState<Fields>({
    key: 'demo',
    parallelism: '2',
    count: '5',
    durationMs: '1500',
  });
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  const field = (name: keyof Fields) => ({
    name,
    value: fields[name],
    onChange: (e: ChangeEvent<HTMLInputElement>) =>
      setFields((f) => ({ ...f, [name]: e.target.value })),
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    const count = Number(fields.count);
    let sent = 0;
    try {
      // One at a time, so the waitlist order is the order of publishing.
      for (; sent < count; sent++) {
        await publish(`sim://work?duration=${fields.durationMs}ms`, {
          key: fields.key,
          value: `parallelism=${fields.parallelism}`,
        });
      }
      setResult({ ok: true, text: `Published ${sent} to ${fields.key}` });
    } catch (err) {
      setResult({ ok: false, text: `Published ${sent}, then: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="trigger" aria-label="Trigger" onSubmit={(e) => void submit(e)}>
      <label>
        Key
        <input {...field('key')} required />
      </label>
      <label>
        Parallelism
        <input {...field('parallelism')} type="number" min={1} required />
      </label>
      <label>
        Count
        <input {...field('count')} type="number" min={1} max={1000} required />
      </label>
      <label>
        Duration (ms)
        <input {...field('durationMs')} type="number" min={0} required />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Publishing…' : 'Publish'}
      </button>
      {result !== null && (
        <p className={result.ok ? 'muted' : 'error'} role={result.ok ? undefined : 'alert'}>
          {result.text}
        </p>
      )}
    </form>
  );
}
