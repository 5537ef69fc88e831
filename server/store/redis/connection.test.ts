import net from 'node:net';
import { expect, it, onTestFinished } from 'vitest';
import { connectRedis, redactUrl } from './connection';

/** Resolves once `done()` holds (checked every few ms). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
}

it('says once that Redis stopped answering, and once that it answers again', async () => {
  // A loopback port nothing listens on, for now.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));

  const said: string[] = [];
  const redis = connectRedis(
    `redis://:secret@127.0.0.1:${port}`,
    // Reconnects every 10 ms; ready once its first commands are answered (no INFO check).
    { retryStrategy: () => 10, enableReadyCheck: false },
    (msg) => said.push(msg),
  );
  onTestFinished(() => redis.disconnect());
  await until(() => said.length > 0);
  // Many failed attempts later, still one line.
  await new Promise((r) => setTimeout(r, 150));
  expect(said).toEqual([
    `Redis at redis://:***@127.0.0.1:${port} is not answering; commands wait while it reconnects`,
  ]);

  // Redis back, as far as a connection can tell: it answers OK to each command it is sent.
  const standIn = net.createServer((socket) =>
    socket.on('data', (data) => {
      for (const _ of String(data).matchAll(/(^|\n)\*\d/g)) socket.write('+OK\r\n');
    }),
  );
  onTestFinished(async () => {
    redis.disconnect(); // first: the stand-in closes once its connections have
    await new Promise<void>((resolve) => standIn.close(() => resolve()));
  });
  await new Promise<void>((resolve) => standIn.listen(port, '127.0.0.1', resolve));
  await until(() => said.length > 1);
  expect(said[1]).toBe(`Redis at redis://:***@127.0.0.1:${port} answers again`);
});

it('hides the password of the URLs it logs', () => {
  expect(redactUrl('redis://user:pw@host:6379/2')).toBe('redis://user:***@host:6379/2');
  expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
});
