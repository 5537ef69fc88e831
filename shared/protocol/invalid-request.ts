/**
 * A request that breaks the QStash wire format, or names something that does not exist. Parsers
 * (and the server's domain modules) throw it; the HTTP layer answers it with its `status` and
 * `{"error": message}`, and nothing is changed.
 */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    /** 400 for malformed input, 404 for an unknown id. */
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}
