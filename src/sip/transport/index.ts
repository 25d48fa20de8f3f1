export * from './errors.js';
export * from './listen-url.js';
export * from './transport-layer.js';
export * from './transport-stats.js';
