import { InvalidRequest } from './invalid-request';

/** The parameters of a `sim://name?duration=800ms&jitter=200ms&fail=0.1&status=503` destination. */
export interface SimSpec {
  durationMs: number;
  jitterMs: number;
  /** Probability in [0, 1] that an attempt fails. */
  fail: number;
  /** The status a failing attempt answers with. */
  failStatus: number;
}

/** A malformed `sim://` destination. */
export class SimSpecError extends InvalidRequest {}

function parseMs(name: string, raw: string | null, fallback: number): number {
  if (raw === null) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (m === null)
    throw new SimSpecError(`sim destination: ${name} must be like 800ms, 2s or 1m, got "${raw}"`);
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (n > 3_600_000) throw new SimSpecError(`sim destination: ${name} must be at most 1h`);
  return n;
}

/** Reads a `sim://` destination; throws SimSpecError (a 400 for the caller) when it is malformed. */
export function parseSimDestination(destination: string): SimSpec {
  let url: URL;
  try {
    url = new URL(destination);
  } catch {
    throw new SimSpecError(`sim destination is not a URL: "${destination}"`);
  }
  if (url.protocol !== 'sim:') throw new SimSpecError(`not a sim:// destination: "${destination}"`);
  const q = url.searchParams;
  const fail = q.get('fail') === null ? 0 : Number(q.get('fail'));
  if (!Number.isFinite(fail) || fail < 0 || fail > 1) {
    throw new SimSpecError(
      `sim destination: fail must be a probability between 0 and 1, got "${q.get('fail')}"`,
    );
  }
  const failStatus = q.get('status') === null ? 500 : Number(q.get('status'));
  if (!Number.isInteger(failStatus) || failStatus < 300 || failStatus > 599) {
    throw new SimSpecError(
      `sim destination: status must be a non-2xx HTTP status, got "${q.get('status')}"`,
    );
  }
  return {
    durationMs: parseMs('duration', q.get('duration'), 500),
    jitterMs: parseMs('jitter', q.get('jitter'), 0),
    fail,
    failStatus,
  };
}
