import { ms, type Millis } from './units';

/** QStash's default retry count: 3 retries after the first attempt. */
export const DEFAULT_RETRIES = 3;
/** The longest backoff QStash applies (one day), also the cap on `Retry-After`. */
export const MAX_BACKOFF = ms(86_400_000);

/**
 * QStash's default backoff before retry `n` (n ≥ 1): `min(86400, e^(2.5·n))` seconds,
 * i.e. about 12 s, 2m28s, 30m8s, 6h7m, then a day.
 */
export function defaultBackoff(retry: number): Millis {
  const s = Math.min(86_400, Math.exp(2.5 * retry));
  return ms(Math.round(s * 1000));
}
