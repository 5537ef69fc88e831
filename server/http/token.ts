import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * A check of the configured token in constant time: both sides are hashed to equal-length digests,
 * then compared with `timingSafeEqual`, so neither the length nor a matching prefix shows in the
 * time an answer takes.
 */
export function tokenChecker(expected: string): (given: unknown) => boolean {
  const want = digest(expected);
  return (given) => typeof given === 'string' && timingSafeEqual(digest(given), want);
}
