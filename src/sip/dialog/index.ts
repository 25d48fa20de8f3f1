export * from './dialog.js';
export * from './invite-session.js';
export * from './user-agent-core.js';
export * from './in-dialog.js';
