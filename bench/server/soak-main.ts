/**
 * The soak alone: `npx tsx bench/server/soak-main.ts [--quick] [--write]`. Prints its report and
 * measurements. `--write` (full runs only) puts its numbers into `bench/results.json` in place of
 * the S3 numbers there, leaving every other section's as they are.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SectionMeasurement } from './section';
import { soakSection } from './soak-section';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const { measurements, report } = await soakSection(quick);
console.log(report);
console.log(`\n${JSON.stringify(measurements)}`);
if (args.includes('--write')) {
  if (quick) throw new Error('--write takes a full run: a quick one never replaces its numbers');
  const file = fileURLToPath(new URL('../results.json', import.meta.url));
  const kept = (JSON.parse(readFileSync(file, 'utf8')) as SectionMeasurement[]).filter(
    (m) => m.workload !== 'S3',
  );
  // Where `npm run bench` puts S3: after the server section, before the browser's.
  const at = kept.findIndex((m) => m.workload.startsWith('B'));
  kept.splice(at === -1 ? kept.length : at, 0, ...measurements);
  writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`);
  console.log('\nwrote bench/results.json (S3 only)');
}
