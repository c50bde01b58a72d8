/** Public surface of the Slack simulator (used by `slack-audit simulate`, the demo and the tests). */
export { startSimulator, encodeCursor, decodeCursor, type SimHandle } from './server.js';
export { SimState, DEFAULT_FAULTS, DEFAULT_SIM_TOKEN, DEFAULT_SIM_ADMIN_TOKEN, EARLIEST_AUDIT_SECOND, type SimOptions, type SimFaults, type SimStats, type AdminCall } from './state.js';
export * from './story.js';
export { ACTIONS_BY_CATEGORY, KNOWN_ACTIONS } from './catalog.js';
