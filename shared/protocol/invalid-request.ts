/**
 * A request that breaks the QStash wire format. Parsers in this folder throw it (or a subclass);
 * the HTTP layer answers it with its `status` and `{"error": message}`, and nothing is changed.
 */
export class InvalidRequest extends Error {
  readonly status = 400;
}
