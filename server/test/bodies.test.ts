import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, nextEvent, type Running } from './helpers';
import { startDestination } from './destination';

let baton: Running;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await baton?.close();
});

/** Every byte value once: what a UTF-8 round trip would turn into 512 other bytes. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function destination(answer?: Parameters<typeof startDestination>[0]) {
  const d = await startDestination(answer);
  closers.push(d.close);
  return d;
}

describe('bodies are bytes', () => {
  it('delivers a binary body byte for byte, signed over those bytes', async () => {
    baton = await startApp();
    const dest = await destination();
    const res = await fetch(`${baton.base}/v2/publish/${dest.url}/bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(ALL_BYTES),
    });
    expect(res.status).toBe(200);
    await dest.answered(1);
    const got = dest.received[0]!;
    expect(got.bytes).toHaveLength(256);
    expect(sha(got.bytes)).toBe(sha(ALL_BYTES));
    expect(got.headers['content-type']).toBe('application/octet-stream');
    // The signature's `body` claim is the SHA-256 of the bytes delivered.
    const claims = JSON.parse(
      Buffer.from(
        (got.headers['upstash-signature'] as string).split('.')[1]!,
        'base64url',
      ).toString(),
    ) as { body: string };
    expect(claims.body).toBe(createHash('sha256').update(ALL_BYTES).digest('base64url'));
  });

  it('shows a binary body as bodyBase64 and a text body as body', async () => {
    baton = await startApp();
    const publish = async (body: Buffer) =>
      (await (
        await fetch(`${baton.base}/v2/publish/sim://x?duration=30s`, {
          method: 'POST',
          body: new Uint8Array(body),
        })
      ).json()) as { messageId: string };
    const bin = await publish(ALL_BYTES);
    const text = await publish(Buffer.from('café ☕'));
    const read = async (id: string) =>
      (await (await fetch(`${baton.base}/v2/messages/${id}`)).json()) as Record<string, unknown>;
    expect(await read(bin.messageId)).toMatchObject({ bodyBase64: ALL_BYTES.toString('base64') });
    expect(await read(text.messageId)).toMatchObject({ body: 'café ☕' });
  });

  it('hands a binary answer and the binary source to the callbacks, and keeps it in the dead-letter list', async () => {
    baton = await startApp();
    const answer = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    const dest = await destination((r) =>
      r.path.startsWith('/fail')
        ? { status: 500, body: answer }
        : r.path.startsWith('/ok')
          ? { status: 200, body: answer }
          : { status: 200 },
    );
    const headers = {
      'content-type': 'application/octet-stream',
      'upstash-retries': '0',
      'upstash-callback': `${dest.url}/callback`,
      'upstash-failure-callback': `${dest.url}/failure`,
    };
    const dead = nextEvent(baton.app, (e) => e.type === 'message:dead-lettered');
    for (const path of ['ok', 'fail']) {
      await fetch(`${baton.base}/v2/publish/${dest.url}/${path}`, {
        method: 'POST',
        headers,
        body: new Uint8Array(ALL_BYTES),
      });
    }
    await dead;
    await dest.answered(4);
    const cb = (p: string) =>
      JSON.parse(dest.received.find((r) => r.path === p)!.body) as {
        body: string;
        sourceBody: string;
      };
    for (const p of ['/callback', '/failure']) {
      expect(Buffer.from(cb(p).body, 'base64')).toEqual(answer);
      expect(Buffer.from(cb(p).sourceBody, 'base64')).toEqual(ALL_BYTES);
    }
    const { messages } = (await (await fetch(`${baton.base}/v2/dlq`)).json()) as {
      messages: Array<{ bodyBase64?: string }>;
    };
    expect(messages[0]?.bodyBase64).toBe(ALL_BYTES.toString('base64'));
  });
});
