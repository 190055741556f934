/** The factory-station daemon (`at-pki daemon`) and its client. */
export type * from './api-types.js';
export { FINAL_JOB_STATES } from './api-types.js';
export { CONFIG_DEFAULTS, defaultSocketPath, loadStationConfig, parseStationConfig, type PortConfig, type StationConfig } from './config.js';
export { Station, type StationOptions } from './station.js';
export { StationClient, parseDaemonAddress, type StationClientOptions, type StreamOptions } from './client.js';
export { Journal, parseJournal, type JournalRecord } from './journal.js';
export { StationMetrics } from './metrics.js';
export { createStationLogger, REDACT_PATHS, type StationLogger } from './logger.js';
