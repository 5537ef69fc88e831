export * from './duration';
export * from './flow-control';
