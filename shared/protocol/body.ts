/**
 * Message bodies are bytes, end to end: what was published is what a destination, a callback or
 * the dead-letter list gets, for any content type. Text is read from them only where QStash's
 * wire format is text (a Workflow step, a batch); otherwise they are shown as QStash shows them.
 */

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** A body as bytes: a string is its UTF-8; an empty body is none. */
export function toBytes(body: string | Uint8Array | undefined): Uint8Array | undefined {
  if (body === undefined) return undefined;
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  return bytes.length === 0 ? undefined : bytes;
}

/** The body's text (UTF-8; a byte that is not one becomes U+FFFD). */
export function bodyText(body: Uint8Array | undefined): string {
  return body === undefined ? '' : lenientUtf8.decode(body);
}

/** base64 of the bytes (the browser's and Node's `btoa`, so it runs on both sides). */
export function bytesToBase64(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '';
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * A body as QStash's API shows it: `body` when it is UTF-8 text, else `bodyBase64` (the client's
 * `Message` type has both).
 */
export function describeBody(
  bytes: Uint8Array | undefined,
): { body: string } | { bodyBase64: string } {
  if (bytes === undefined) return { body: '' };
  try {
    return { body: strictUtf8.decode(bytes) };
  } catch {
    return { bodyBase64: bytesToBase64(bytes) };
  }
}
