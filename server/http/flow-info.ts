import type { KeySnapshot } from '../../shared/engine/types';

/** QStash's `FlowControlInfo`: all eleven fields, always present (0/false when unset). */
export interface FlowControlInfo {
  flowControlKey: string;
  waitListSize: number;
  parallelismMax: number;
  parallelismCount: number;
  rateMax: number;
  rateCount: number;
  /** Seconds. */
  ratePeriod: number;
  /** Unix seconds. */
  ratePeriodStart: number;
  isPaused: boolean;
  isPinnedParallelism: boolean;
  isPinnedRate: boolean;
}

export function toFlowControlInfo(k: KeySnapshot): FlowControlInfo {
  return {
    flowControlKey: k.key,
    waitListSize: k.waitListSize,
    parallelismMax: k.parallelism ?? 0,
    parallelismCount: k.inFlight,
    rateMax: k.rate ?? 0,
    rateCount: k.rateCount,
    ratePeriod: Math.round(k.periodMs / 1000),
    ratePeriodStart: Math.floor(k.ratePeriodStart / 1000),
    isPaused: k.paused,
    isPinnedParallelism: k.pinnedParallelism,
    isPinnedRate: k.pinnedRate,
  };
}
