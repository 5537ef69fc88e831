/**
 * The dashboards of the soak (S3): `n` Socket.IO clients connected to a Baton process the way the
 * dashboard connects (WebSocket), each receiving its `snapshot` and `events` and counting them.
 * A process of its own, so that parsing what 50 sockets receive does not delay the load generator's
 * clock; the soak (`soak.ts`) drives it over IPC.
 *
 * Usage: forked by soak.ts with `<base> <n>`. Messages in: `mark` (start counting), `report`,
 * `probe` (a fresh snapshot's totals, through socket 0's `resync`), `close`. Messages out: `ready`
 * once every socket has its first snapshot, and one answer per message in.
 */
import { io as connect, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  EngineEvent,
  ServerToClientEvents,
  SnapshotPayload,
} from '../../shared/events';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface DashboardsReport {
  /** Seconds since `mark`. */
  seconds: number;
  /** Events received over all sockets since `mark`. */
  events: number;
  /** The fewest and most one socket received. */
  minPerSocket: number;
  maxPerSocket: number;
  /** `events` emits received over all sockets. */
  batches: number;
  /** Snapshots received since `mark`: the server's answer to a socket that fell behind. */
  snapshots: number;
  /** Socket 0's count of `message:delivered` and `message:dead-lettered` since `mark`. */
  delivered: number;
  deadLettered: number;
  /** Each batch's oldest event: arrival minus its server time `at` (ms; one machine, one clock). */
  lagsMs: number[];
  disconnects: number;
  /** CPU seconds this process used since `mark`. */
  cpuSeconds: number;
}

export interface ProbeReport {
  waiting: number;
  inFlight: number;
  scheduled: number;
  accepted: number;
  ended: number;
}

export type DashboardsIn =
  { type: 'mark' } | { type: 'report' } | { type: 'probe' } | { type: 'close' };
export type DashboardsOut =
  | { type: 'ready' }
  | { type: 'marked' }
  | { type: 'report'; report: DashboardsReport }
  | { type: 'probe'; probe: ProbeReport }
  | { type: 'closed' };

const base = process.argv[2] ?? '';
const n = Number(process.argv[3] ?? 50);
const send = (m: DashboardsOut) => process.send?.(m);

interface Counts {
  events: number;
  batches: number;
  snapshots: number;
}

let markedAt = performance.now();
let markedCpu = process.cpuUsage();
let delivered = 0;
let deadLettered = 0;
let disconnects = 0;
let lags: number[] = [];
const counts: Counts[] = [];
const clients: Client[] = [];
let probeWaiter: ((s: SnapshotPayload) => void) | null = null;
let connected = 0;

for (let i = 0; i < n; i++) {
  const c: Client = connect(base, { transports: ['websocket'], forceNew: true });
  const mine: Counts = { events: 0, batches: 0, snapshots: 0 };
  counts.push(mine);
  let first = true;
  c.on('snapshot', (payload) => {
    if (first) {
      first = false;
      if (++connected === n) send({ type: 'ready' });
      return;
    }
    if (i === 0 && probeWaiter !== null) {
      // The answer to the probe's own resync, not a socket that fell behind.
      const w = probeWaiter;
      probeWaiter = null;
      w(payload);
      return;
    }
    mine.snapshots++;
  });
  c.on('events', (batch: EngineEvent[]) => {
    mine.events += batch.length;
    mine.batches++;
    const oldest = batch[0];
    if (oldest !== undefined) lags.push(Date.now() - oldest.at);
    if (i === 0) {
      for (const e of batch) {
        if (e.type === 'message:delivered') delivered++;
        else if (e.type === 'message:dead-lettered') deadLettered++;
      }
    }
  });
  c.on('disconnect', () => disconnects++);
  clients.push(c);
}

function report(): DashboardsReport {
  const per = counts.map((c) => c.events);
  const cpu = process.cpuUsage(markedCpu);
  return {
    seconds: (performance.now() - markedAt) / 1000,
    events: per.reduce((a, b) => a + b, 0),
    minPerSocket: Math.min(...per),
    maxPerSocket: Math.max(...per),
    batches: counts.reduce((a, c) => a + c.batches, 0),
    snapshots: counts.reduce((a, c) => a + c.snapshots, 0),
    delivered,
    deadLettered,
    lagsMs: lags,
    disconnects,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function probe(): void {
  probeWaiter = (s) => {
    let waiting = 0;
    let inFlight = 0;
    let scheduled = 0;
    for (const k of s.engine.keys) {
      waiting += k.waitListSize;
      inFlight += k.inFlight;
      scheduled += k.scheduled;
    }
    const { accepted, delivered: d, dead, cancelled } = s.engine.stats;
    send({
      type: 'probe',
      probe: { waiting, inFlight, scheduled, accepted, ended: d + dead + cancelled },
    });
  };
  clients[0]?.emit('resync');
}

process.on('message', (m: DashboardsIn) => {
  switch (m.type) {
    case 'mark':
      markedAt = performance.now();
      markedCpu = process.cpuUsage();
      for (const c of counts) Object.assign(c, { events: 0, batches: 0, snapshots: 0 });
      delivered = 0;
      deadLettered = 0;
      disconnects = 0;
      lags = [];
      send({ type: 'marked' });
      break;
    case 'report':
      send({ type: 'report', report: report() });
      break;
    case 'probe':
      probe();
      break;
    case 'close':
      for (const c of clients) c.close();
      send({ type: 'closed' });
      process.disconnect();
      break;
  }
});
// The soak going away takes the dashboards with it.
process.on('disconnect', () => process.exit(0));
