export * from './aggregation/index.js';
export * from './coordinator.js';
export * from './coordinator-config.js';
export * from './coordinator-metrics.js';
export * from './federation-round.js';
export * from './rate-limiter.js';
export * from './transfer-set-sampler.js';
