/**
 * S2's BullMQ side, in a process of its own (as Baton runs in its own): one Worker of concurrency
 * `concurrency` on `queue` whose processor POSTs each job's body to the destination, the way Baton
 * delivers a message. Prints `READY` once the worker is connected; closes on SIGTERM.
 * Usage: `node --import tsx bench/server/s2-bullmq-worker.ts <redisUrl> <queue> <destination> <concurrency>`.
 */
import { Worker } from 'bullmq';
import { Agent, request } from 'undici';

interface JobData {
  path: string;
  body: string;
}

const [redisUrl = '', queue = '', destination = '', concurrencyArg = '100'] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const { hostname, port } = new URL(redisUrl);
const agent = new Agent({ connections: concurrency * 2, keepAliveTimeout: 60_000 });

const worker = new Worker<JobData>(
  queue,
  async (job) => {
    const res = await request(`${destination}${job.data.path}`, {
      method: 'POST',
      body: job.data.body,
      dispatcher: agent,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new Error(`destination answered ${res.statusCode}`);
  },
  {
    connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
    concurrency,
  },
);
worker.on('error', (err) => console.error('bullmq worker:', err));

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  void worker
    .close()
    .then(() => agent.close())
    .finally(() => process.exit(0));
});

await worker.waitUntilReady();
process.stdout.write('READY\n');
