import { createHash, createHmac, createSecretKey, randomUUID } from 'node:crypto';

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

/** The JWT header of every signature (base64url of `{"alg":"HS256","typ":"JWT"}`). */
const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');

/**
 * `Upstash-Signature`: an HS256 JWT signed with `key`, `iss` Upstash, `sub` the destination URL,
 * 5 minutes of validity, and `body` = base64url(SHA-256(raw body)). Synchronous, written out by
 * hand with the key prepared once: one is made per delivery, and a JWT library's generality (its
 * claims copied and checked, its header built each time) costs more than the hashing.
 */
export function createDeliverySigner(key: string): DeliverySigner {
  const secret = createSecretKey(Buffer.from(key, 'utf8'));
  return (destination, body, nowMs) => {
    const iat = Math.floor(nowMs / 1000);
    const bodyHash = createHash('sha256').update(body).digest('base64url');
    const claims =
      `{"iss":"Upstash","sub":${JSON.stringify(destination)},"iat":${iat},"nbf":${iat},` +
      `"exp":${iat + 300},"jti":"jwt_${randomUUID()}","body":"${bodyHash}"}`;
    const signed = `${HEADER}.${Buffer.from(claims, 'utf8').toString('base64url')}`;
    return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
  };
}
