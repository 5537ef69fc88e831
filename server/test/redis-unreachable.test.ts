import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runMain } from './main-process';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('--redis', () => {
  it('stops the start with a clear error when the Redis cannot be reached', async () => {
    const port = await closedPort();
    const started = runMain(['--redis', `redis://:secret@127.0.0.1:${port}`]);
    const err = await started.then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/exited 1/);
    expect(err?.message).toMatch(
      new RegExp(`cannot use Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    );
    expect(err?.message).not.toMatch(/secret/);
  });
});
