/**
 * A server started with `--token` wants it on every API call and on the socket. The dashboard takes
 * it from the page address (`/?token=…`), the same way a QStash client is handed its token.
 */
export function pageToken(): string | undefined {
  const token = new URLSearchParams(window.location.search).get('token');
  return token === null || token === '' ? undefined : token;
}
