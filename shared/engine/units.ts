/**
 * Branded units and ids. Mixing seconds and milliseconds is the classic rate-limit bug, so the
 * engine speaks milliseconds only (`Millis`) and converts at the edges (`Seconds` for the wire).
 */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A duration or an instant, in milliseconds (instants are Unix epoch ms). */
export type Millis = Brand<number, 'Millis'>;
/** A duration or an instant, in seconds (QStash's wire format for periods and period starts). */
export type Seconds = Brand<number, 'Seconds'>;
/** A flow-control key. `"$"` is the pseudo-key of messages that carry none. */
export type KeyId = Brand<string, 'KeyId'>;
/** A message id, e.g. `msg_…`. */
export type MessageId = Brand<string, 'MessageId'>;

export const ms = (n: number): Millis => n as Millis;
export const seconds = (n: number): Seconds => n as Seconds;
export const keyId = (s: string): KeyId => s as KeyId;
export const messageId = (s: string): MessageId => s as MessageId;
export const toSeconds = (m: Millis): Seconds => (m / 1000) as Seconds;
export const toMillis = (s: Seconds): Millis => (s * 1000) as Millis;

/** The pseudo-key of messages published without a flow-control key (QStash lists it as `"$"`). */
export const GLOBAL_KEY = keyId('$');

/** One second: the default rate period. */
export const DEFAULT_PERIOD = ms(1000);
/** One week: the longest rate period QStash allows. */
export const MAX_PERIOD = ms(7 * 24 * 3600 * 1000);
