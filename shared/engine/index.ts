export { FlowEngine } from './engine';
export { windowAt } from './rate-window';
export { seededRandom, type RandomSource } from './random';
export { DEFAULT_RETRIES, MAX_BACKOFF, defaultBackoff } from './retry';
export * from './types';
export * from './units';
