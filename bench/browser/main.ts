/**
 * The browser section alone: `npx tsx bench/browser/main.ts [--quick] [--trace file.json]`.
 * Prints its report and measurements; writes no results file (`npm run bench` does that for
 * every section). `--trace` also saves a Chromium performance trace of the measured window (open
 * it in DevTools' Performance panel); tracing costs the page time, so those numbers run slower.
 */
import { browserSection } from './section';

const args = process.argv.slice(2);
const trace = args.includes('--trace') ? args[args.indexOf('--trace') + 1] : undefined;
const { measurements, report } = await browserSection(args.includes('--quick'), trace);
console.log(report);
console.log(`\n${JSON.stringify(measurements)}`);
