import type { Workload } from './common';
import { w1 } from './w1-one-key';
import { w2 } from './w2-many-keys';
import { w3 } from './w3-waiting-memory';
import { w4 } from './w4-handoff-latency';

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [w1, w2, w3, w4];
