/**
 * `npx tsx bench/redis/profile.ts [windowMs] [runs]`: W5 (one key of parallelism 10, 50 callers in
 * a closed loop through the Redis store) measured for CPU rather than speed, which other work on
 * the machine disturbs less: Redis's per batch and per cycle (the time commandstats gives FCALL,
 * longer when Redis was off the CPU meanwhile, and its main thread's CPU, which counts everything
 * it did: every connection's reads and writes too), this process's per cycle (user and system),
 * cycles per batch, cycles/s and wait p99 for reference, and this process's garbage collections
 * (young-generation ones: how many per 1000 cycles, their mean and longest pause; full ones: how
 * many), which every wait in progress absorbs. Uses the Redis at REDIS_URL
 * (127.0.0.1:6379 by default) under a prefix of its own, deleted at the end; resets its command
 * statistics.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RedisStore } from '../../server/store/redis/redis-store';
import { deletePrefix } from '../../server/store/redis/testing';
import { batonAcquire } from './baton';
import { closedLoop, percentile } from './closed-loop';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const windowMs = Number(process.argv[2] ?? 3000);
const runs = Number(process.argv[3] ?? 3);

/** The Redis main thread's CPU (user + system), in µs. */
async function redisCpu(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const get = (f: string) => Number(new RegExp(`${f}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (get('used_cpu_user_main_thread') + get('used_cpu_sys_main_thread')) * 1e6;
}

function stat(info: string, cmd: string): { calls: number; usec: number } {
  const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+),usec=(\\d+)`).exec(info);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

/** This process's GC pauses (ms) while measuring, young-generation ones and full ones. */
const gc = { minor: [] as number[], major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor.push(e.duration);
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
  }
}).observe({ entryTypes: ['gc'] });

const admin = new Redis(url);
const prefix = `profile-${Date.now()}:`;
const store = await RedisStore.open({ url, prefix });
const acquire = batonAcquire(store, 'w5', 10);
await closedLoop(acquire, { callers: 50, warmupMs: 0, windowMs: 1000 });
const f = (n: number, d = 1) => n.toFixed(d).padStart(7);
console.log(
  'cycles/s  p99 ms  cycles/batch  FCALL µs/batch  FCALL µs/cycle  redis CPU µs/cycle  node CPU µs/cycle (user+sys)' +
    '  scavenges/1000 cycles  mean, max ms  full GCs',
);
for (let r = 0; r < runs; r++) {
  await admin.config('RESETSTAT');
  const redis0 = await redisCpu(admin);
  gc.minor = [];
  gc.major = 0;
  const cpu0 = process.cpuUsage();
  const res = await closedLoop(acquire, { callers: 50, warmupMs: 0, windowMs });
  const cpu = process.cpuUsage(cpu0);
  const redisUs = (await redisCpu(admin)) - redis0;
  const info = await admin.info('commandstats');
  const fcall = stat(info, 'fcall');
  const cycles = res.perCaller.reduce((a, b) => a + b, 0);
  const p99 = percentile(
    res.waits.sort((a, b) => a - b),
    99,
  );
  console.log(
    `${f(res.cyclesPerSecond, 0)}  ${f(p99, 2)}  ${f(cycles / fcall.calls, 2)}       ` +
      `${f(fcall.usec / fcall.calls)}         ${f(fcall.usec / cycles)}         ` +
      `${f(redisUs / cycles)}            ` +
      `${f((cpu.user + cpu.system) / cycles)} (${(cpu.user / cycles).toFixed(1)}+${(cpu.system / cycles).toFixed(1)})` +
      `     ${f((1000 * gc.minor.length) / cycles, 2)}            ` +
      `${(gc.minor.reduce((a, b) => a + b, 0) / Math.max(1, gc.minor.length)).toFixed(2)}, ` +
      `${Math.max(0, ...gc.minor).toFixed(2)}   ${gc.major}`,
  );
}
await store.close();
await deletePrefix(prefix, url);
admin.disconnect();
