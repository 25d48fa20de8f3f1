export * from './errors.js';
export * from './listen-url.js';
export * from './protocol.js';
export * from './sip-transport.js';
export * from './transport-layer.js';
