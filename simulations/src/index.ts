export * from "./federation-run.js";
export * from './baselines.js';
export * from './main-job.js';
export * from './report.js';
export * from './user-partition.js';
