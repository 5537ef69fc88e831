import { createHash, randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';

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

/** Signs one delivery: the value of its `Upstash-Signature` header. */
export type DeliverySigner = (destination: string, body: string | Buffer, nowMs: number) => string;

/**
 * `Upstash-Signature`: an HS256 JWT signed with `key`, `iss` Upstash, `sub` the destination URL,
 * 5 minutes of validity, and `body` = base64url(SHA-256(raw body)). Synchronous, with the key
 * prepared once: a signature costs some 20 µs, against some 160 µs through WebCrypto (`jose`),
 * and one is made per delivery.
 */
export function createDeliverySigner(key: string): DeliverySigner {
  const sign = createSigner({ key, algorithm: 'HS256' });
  return (destination, body, nowMs) => {
    const iat = Math.floor(nowMs / 1000);
    return sign({
      iss: 'Upstash',
      sub: destination,
      iat,
      nbf: iat,
      exp: iat + 300,
      jti: `jwt_${randomUUID()}`,
      body: createHash('sha256').update(body).digest('base64url'),
    });
  };
}
