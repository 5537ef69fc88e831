import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * The signing keys of the official clients' development mode (`DEV_CREDENTIALS` in qstash-js),
 * so an app run with `QSTASH_DEV=1` recognises Baton at `GET /v2/keys` and its `Receiver`
 * verifies Baton's deliveries with no configuration.
 */
export const DEV_SIGNING_KEYS = {
  current: 'sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r',
  next: 'sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs',
} as const;

export interface SigningKeys {
  current: string;
  next: string;
}

/**
 * `Upstash-Signature`: an HS256 JWT signed with the current key, `iss` Upstash, `sub` the
 * destination URL, 5 minutes of validity, and `body` = base64url(SHA-256(raw body)).
 */
export async function signDelivery(
  key: string,
  destination: string,
  body: string | Buffer,
  nowMs: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const bodyHash = createHash('sha256').update(body).digest('base64url');
  return new SignJWT({ body: bodyHash })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('Upstash')
    .setSubject(destination)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + 300)
    .setJti(`jwt_${randomUUID()}`)
    .sign(new TextEncoder().encode(key));
}
