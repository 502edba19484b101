// Non-negative matrix factorization for fedsplit: local factorization of interaction matrices,
// joint factorization of the uploaded item patterns, and projection of contexts onto patterns.
export * from './dense-matrix.js';
export * from './binary-matrix.js';
export type { FactorizationInput } from './factor-products.js';
export * from './nmf.js';
export * from './nnls.js';
export * from './joint-patterns.js';
export * from './pattern-projection.js';
