/**
 * One workload × implementation, in a process of its own (spawned by `run.ts` with `--expose-gc`)
 * so one run's heap, JIT state and leftover timers never touch another's measurements.
 * Usage: `node --expose-gc --import tsx bench/child.ts <workload> <impl> <sizes-json>`.
 * Prints one line, `RESULT <json>`, with the measurements.
 */
import { IMPLS, RESULT_PREFIX, type Impl, type Sizes } from './workloads/common';
import { WORKLOADS } from './workloads/index';

async function main(): Promise<void> {
  const [id, impl, sizesJson] = process.argv.slice(2);
  const workload = WORKLOADS.find((w) => w.id === id);
  if (workload === undefined || !IMPLS.includes(impl as Impl) || sizesJson === undefined) {
    throw new Error(
      `usage: child.ts <${WORKLOADS.map((w) => w.id).join('|')}> <${IMPLS.join('|')}> <sizes-json>`,
    );
  }
  const measurements = await workload.run[impl as Impl](JSON.parse(sizesJson) as Sizes);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(measurements)}\n`);
}

main().then(
  // Exit explicitly: W3 leaves deliveries held forever and Bottleneck keeps timers alive.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
