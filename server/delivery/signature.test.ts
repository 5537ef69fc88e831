import { describe, expect, it } from 'vitest';
import { Receiver } from '@upstash/qstash';
import { createDeliverySigner, DEV_SIGNING_KEYS } from './signature';

describe('createDeliverySigner', () => {
  const receiver = new Receiver({
    currentSigningKey: DEV_SIGNING_KEYS.current,
    nextSigningKey: DEV_SIGNING_KEYS.next,
  });
  const signCurrent = createDeliverySigner(DEV_SIGNING_KEYS.current);

  it('makes a signature the official Receiver verifies', async () => {
    const body = JSON.stringify({ hello: 'wörld' });
    const signature = signCurrent('http://127.0.0.1:3000/api?x=1', body, Date.now());
    await expect(
      receiver.verify({ signature, body, url: 'http://127.0.0.1:3000/api?x=1' }),
    ).resolves.toBe(true);
  });

  it('carries the claims QStash sends, valid for five minutes from now', () => {
    const now = Date.UTC(2026, 10, 26, 12, 0, 0);
    const [header, payload] = signCurrent('http://a/x', 'one', now)
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown);
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: 'Upstash',
      sub: 'http://a/x',
      iat: now / 1000,
      nbf: now / 1000,
      exp: now / 1000 + 300,
      jti: expect.stringMatching(/^jwt_/) as unknown,
    });
  });

  it('is refused for another body, URL or key', async () => {
    const signature = signCurrent('http://a/x', 'one', Date.now());
    await expect(receiver.verify({ signature, body: 'two', url: 'http://a/x' })).rejects.toThrow(
      /body hash/,
    );
    await expect(receiver.verify({ signature, body: 'one', url: 'http://a/y' })).rejects.toThrow(
      /subject/,
    );
    const stranger = createDeliverySigner('sig_not_one_of_the_keys')(
      'http://a/x',
      'one',
      Date.now(),
    );
    await expect(
      receiver.verify({ signature: stranger, body: 'one', url: 'http://a/x' }),
    ).rejects.toThrow();
  });

  it('verifies an empty body, signed with the next key', async () => {
    const signature = createDeliverySigner(DEV_SIGNING_KEYS.next)('http://a/x', '', Date.now());
    await expect(receiver.verify({ signature, body: '', url: 'http://a/x' })).resolves.toBe(true);
  });
});
