/**
 * Issue 9: Baton kept its last 10,000 ended messages with their whole bodies (and decoded each
 * body again into every log entry), so about 4,000 delivered messages of 1 MiB ended in
 * `FATAL ERROR: Reached heap limit`. Here `server/main.ts` runs as an operator runs it, in its
 * own process with a 256 MB heap and the history and logs limited by bytes; 4,000 messages of
 * 1 MiB go through it to a real destination on loopback, and its memory is read by a probe
 * loaded into that process (`fixtures/memory-probe.ts`).
 *
 * The retention settings are passed as environment variables, so the same test can be run
 * against a version of Baton without them (which ignores them), and fails there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const MESSAGES = 4_000;
const BODY_BYTES = 1 << 20;
/** Messages accepted and not yet delivered, at most: the waitlist's bodies are all kept. */
const OUTSTANDING = 48;
const PUBLISHERS = 8;
const MB = 1e6;
/** What the server may hold at its peak: the history, the logs, the bodies outstanding, slack. */
const PEAK_HEAP_LIMIT = 120 * MB;
const PEAK_RSS_LIMIT = 400 * MB;
/** After the last delivery and a full collection. */
const SETTLED_HEAP_LIMIT = 60 * MB;
const SETTLED_BUFFERS_LIMIT = 16 * MB;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Usage {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

let child: ChildProcess | undefined;
let sink: Server | undefined;
afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await new Promise((resolve) => (sink === undefined ? resolve(undefined) : sink.close(resolve)));
});

/** A destination that reads each request whole and answers 200; counts the bytes it got. */
async function startSink(onDelivery: (bytes: number) => void): Promise<string> {
  sink = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      res.writeHead(200).end('ok');
      onDelivery(bytes);
    });
  });
  await new Promise<void>((resolve) => sink!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(sink.address() as AddressInfo).port}/sink`;
}

/** `server/main.ts` with a 256 MB heap and the probe, on a free port; resolves with its URL. */
async function startBaton(): Promise<{ base: string; output: () => string }> {
  const c = spawn(
    process.execPath,
    [
      '--max-old-space-size=256',
      '--expose-gc',
      '--import',
      'tsx',
      '--import',
      './server/test/fixtures/memory-probe.ts',
      'server/main.ts',
      '--port',
      '0',
    ],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'info',
        BATON_MAX_BODY_BYTES: String(2 * BODY_BYTES),
        BATON_HISTORY_BYTES: '16MiB',
        BATON_LOGS_BYTES: '16MiB',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  child = c;
  let out = '';
  c.stderr!.on('data', (chunk: Buffer) => (out = (out + chunk.toString('utf8')).slice(-20_000)));
  const base = await new Promise<string>((resolve, reject) => {
    c.stdout!.on('data', (chunk: Buffer) => {
      out = (out + chunk.toString('utf8')).slice(-20_000);
      const m = /Baton listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    c.once('exit', (code) =>
      reject(new Error(`Baton exited with ${code} before listening:\n${out}`)),
    );
  });
  return { base, output: () => out };
}

/** The probe's peaks since the start, and the usage after a full collection. */
function report(c: ChildProcess): Promise<{ peak: Usage; settled: Usage }> {
  return new Promise((resolve, reject) => {
    c.once('message', (m) => resolve(m as { peak: Usage; settled: Usage }));
    c.once('exit', (code, signal) => reject(new Error(`Baton exited (${code ?? signal})`)));
    c.send('report');
  });
}

it(`delivers ${MESSAGES.toLocaleString('en-US')} messages of 1 MiB within a 256 MB heap, and gives the memory back`, async () => {
  let delivered = 0;
  let deliveredBytes = 0;
  // Everyone waiting for a delivery (or the crash) is woken by each one.
  const waiting = new Set<() => void>();
  const wakeAll = () => {
    for (const w of waiting) w();
    waiting.clear();
  };
  const dest = await startSink((bytes) => {
    delivered++;
    deliveredBytes += bytes;
    wakeAll();
  });
  const { base, output } = await startBaton();
  let crashed: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child!.once('exit', (code, signal) => {
      const fatal = /FATAL ERROR[^\n]*/.exec(output())?.[0] ?? output().slice(-2_000);
      crashed = `Baton exited (${code ?? signal}): ${fatal}`;
      wakeAll();
      resolve();
    }),
  );
  const waitFor = async (done: () => boolean) => {
    while (!done() && crashed === undefined) await new Promise<void>((r) => waiting.add(r));
    if (crashed !== undefined) throw new Error(crashed);
  };

  const body = new Uint8Array(BODY_BYTES).fill(0x61);
  // node:http rather than fetch: it costs this process a third of the CPU, which Baton needs.
  const agent = new Agent({ keepAlive: true, maxSockets: PUBLISHERS });
  const publish = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/v2/publish/${dest}`,
        {
          agent,
          method: 'POST',
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': BODY_BYTES,
            'upstash-flow-control-key': 'memory',
            'upstash-flow-control-value': 'parallelism=8',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let published = 0;
  async function publisher(): Promise<void> {
    while (published < MESSAGES) {
      published++;
      await waitFor(() => published - delivered <= OUTSTANDING);
      const status = await publish().catch(async (err: unknown) => {
        // A reset connection is most likely Baton dying: say how it died.
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
        throw crashed !== undefined ? new Error(crashed) : err;
      });
      expect(status).toBe(200);
    }
  }
  await Promise.all(Array.from({ length: PUBLISHERS }, publisher));
  agent.destroy();
  await waitFor(() => delivered === MESSAGES);

  expect(deliveredBytes).toBe(MESSAGES * BODY_BYTES);
  const { peak, settled } = await report(child!);
  const mb = (n: number) => `${(n / MB).toFixed(0)} MB`;
  process.stdout.write(
    `memory.test: peak heap ${mb(peak.heapUsed)}, rss ${mb(peak.rss)}, array buffers ${mb(peak.arrayBuffers)}; ` +
      `settled heap ${mb(settled.heapUsed)}, array buffers ${mb(settled.arrayBuffers)}\n`,
  );
  expect(child!.exitCode).toBeNull();
  expect(peak.heapUsed).toBeLessThan(PEAK_HEAP_LIMIT);
  expect(peak.rss).toBeLessThan(PEAK_RSS_LIMIT);
  expect(settled.heapUsed).toBeLessThan(SETTLED_HEAP_LIMIT);
  expect(settled.arrayBuffers).toBeLessThan(SETTLED_BUFFERS_LIMIT);
}, 180_000);
