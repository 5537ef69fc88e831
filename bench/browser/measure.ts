/**
 * One measured run of the browser bench: build the dashboard, start Baton, make the load, open the
 * page in Chromium, let it warm up, measure one window, then check every frame of a second window
 * for a false picture, and stop everything (also on failure).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from '@playwright/test';
import { Load, type LoadOptions, type LoadSample } from './load';
import { probeScript, type Probe, type ProbeResult } from './probe';
import {
  frameCheckScript,
  startFrameCheck,
  stopFrameCheck,
  type FrameCheckResult,
} from '../../e2e/frame-check';
import { buildClient, startBaton, type BatonProcess } from './processes';
import { CHROMIUM_LAUNCH_OPTIONS } from '../../scripts/chromium';

export interface RunOptions {
  load: Omit<LoadOptions, 'base'>;
  viewport: { width: number; height: number };
  warmupMs: number;
  windowMs: number;
  /**
   * Then, under the same load, this long with every frame checked for a false picture (the
   * checker of e2e/frame-check.ts). After the measured window, not in it: the checks read the
   * layout every frame, which would slow the very frames being timed.
   */
  truthMs: number;
  /**
   * Also save a Chromium performance trace of the window here, with JavaScript samples of an
   * unminified build. Tracing slows the page: such a run is for profiling, not for the numbers.
   */
  tracePath?: string;
}

/** Main-thread seconds of the page, from the DevTools Performance domain. */
export interface PageTimes {
  task: number;
  script: number;
  styleAndLayout: number;
}

export interface RunResult {
  probe: ProbeResult;
  /** The keys as the load's polls saw them during the window. */
  samples: LoadSample[];
  /** The page's main-thread time spent during the window. */
  page: PageTimes;
  serverCpuSeconds: number;
  /** WebSocket frames the page received during the window (0: it fell back to long-polling). */
  socketFrames: number;
  /** What the frame checker saw in the truth window. */
  truth: FrameCheckResult;
}

/** What DevTools' Performance panel records, with JavaScript samples. */
const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'disabled-by-default-v8.cpu_profiler',
  'v8.execute',
  'blink.user_timing',
];

/** The launch the repository's browser tests use too: Debian's Chromium, nothing downloaded. */
const launch = () => chromium.launch(CHROMIUM_LAUNCH_OPTIONS);

// The probe as the bench reads it; these run in the page, so each stands alone.
const probeStart = () => (window as unknown as { __batonBench: Probe }).__batonBench.start();
const probeStop = () => (window as unknown as { __batonBench: Probe }).__batonBench.stop();
const probeLive = () => (window as unknown as { __batonBench: Probe }).__batonBench.lastSeq() >= 0;

/** Runs the bench once. */
export async function runOnce(o: RunOptions): Promise<RunResult> {
  await buildClient({ minify: o.tracePath === undefined });
  let baton: BatonProcess | undefined;
  let browser: Browser | undefined;
  let load: Load | undefined;
  try {
    baton = await startBaton();
    load = new Load({ ...o.load, base: baton.base });
    await load.fill();
    load.run();
    browser = await launch();
    const page = await browser.newPage({ viewport: o.viewport });
    let socketFrames = 0;
    let counting = false;
    page.on('websocket', (ws) => ws.on('framereceived', () => counting && socketFrames++));
    await page.addInitScript({ content: probeScript });
    await page.goto(`${baton.base}/?bench`);
    await page.waitForFunction(probeLive, null, { timeout: 15_000 });

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const pageTimes = async (): Promise<PageTimes> => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
      return {
        task: get('TaskDuration'),
        script: get('ScriptDuration'),
        styleAndLayout: get('RecalcStyleDuration') + get('LayoutDuration'),
      };
    };
    await sleep(o.warmupMs);
    load.check();

    const before = await pageTimes();
    const cpu0 = baton.cpuSeconds();
    if (o.tracePath !== undefined) {
      await browser.startTracing(page, { path: o.tracePath, categories: TRACE_CATEGORIES });
    }
    load.recording = true;
    counting = true;
    await page.evaluate(probeStart);
    await sleep(o.windowMs);
    const probe = await page.evaluate(probeStop);
    counting = false;
    load.recording = false;
    const serverCpuSeconds = baton.cpuSeconds() - cpu0;
    if (o.tracePath !== undefined) await browser.stopTracing();
    const after = await pageTimes();
    load.check();

    await page.evaluate(frameCheckScript);
    await page.evaluate(startFrameCheck);
    await sleep(o.truthMs);
    const truth = await page.evaluate(stopFrameCheck);
    load.check();
    return {
      probe,
      samples: load.samples,
      page: {
        task: after.task - before.task,
        script: after.script - before.script,
        styleAndLayout: after.styleAndLayout - before.styleAndLayout,
      },
      serverCpuSeconds,
      socketFrames,
      truth,
    };
  } finally {
    load?.stop();
    await browser?.close().catch(() => undefined);
    await baton?.stop();
  }
}
