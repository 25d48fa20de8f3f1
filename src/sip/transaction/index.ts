export * from './client-transactions.js';
export * from './matching.js';
export * from './server-transactions.js';
export * from './timers.js';
export * from './transaction-layer.js';
