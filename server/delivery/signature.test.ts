import { describe, expect, it } from 'vitest';
import { Receiver } from '@upstash/qstash';
import { DEV_SIGNING_KEYS, signDelivery } from './signature';

describe('signDelivery', () => {
  const receiver = new Receiver({
    currentSigningKey: DEV_SIGNING_KEYS.current,
    nextSigningKey: DEV_SIGNING_KEYS.next,
  });

  it('makes a signature the official Receiver verifies', async () => {
    const body = JSON.stringify({ hello: 'wörld' });
    const signature = await signDelivery(
      DEV_SIGNING_KEYS.current,
      'http://127.0.0.1:3000/api?x=1',
      body,
      Date.now(),
    );
    await expect(
      receiver.verify({ signature, body, url: 'http://127.0.0.1:3000/api?x=1' }),
    ).resolves.toBe(true);
  });

  it('is refused for another body or URL', async () => {
    const signature = await signDelivery(DEV_SIGNING_KEYS.current, 'http://a/x', 'one', Date.now());
    await expect(receiver.verify({ signature, body: 'two', url: 'http://a/x' })).rejects.toThrow(
      /body hash/,
    );
    await expect(receiver.verify({ signature, body: 'one', url: 'http://a/y' })).rejects.toThrow(
      /subject/,
    );
  });

  it('verifies an empty body', async () => {
    const signature = await signDelivery(DEV_SIGNING_KEYS.next, 'http://a/x', '', Date.now());
    await expect(receiver.verify({ signature, body: '', url: 'http://a/x' })).resolves.toBe(true);
  });
});
