/**
 * The daemon's configuration file (`at-pki daemon --config station.json`): its schema, defaults and
 * validation. Every problem is one InputError line naming the file and the field
 * (`station.json: ports[1].baud: must be a whole number between 300 and 5000000`), exit 2.
 * Relative paths are taken relative to the config file's folder. Unknown fields are refused, so a
 * typo never silently falls back to a default.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { AtPkiError, InputError } from '../errors.js';
import { parseTransportUrl } from '../transport/open.js';
import { parseStationModeConfig, type StationModeConfig } from './station-mode-config.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface PortConfig {
  /** Used in the API (`"port": "a"`, `/ports/a/partitions`), logs and metrics: letters, digits, `_ . -`, up to 32. */
  name: string;
  /** As for `--port`: a device path (prefer /dev/serial/by-id/...), `serial://...`, `tcp://host:port`, `mock://...`. */
  url: string;
  /** Line rate. @default 115200 */
  baudRate: number;
  /** Time allowed for each answer of the module (and for opening the port), in ms. @default 3000 */
  timeoutMs: number;
}

export interface ApiConfig {
  /** Unix socket path (created mode 0600: file permissions are the access control); undefined when disabled with `false`. */
  socket: string | undefined;
  /** Optional loopback TCP listener; requires `token`. */
  tcp: { host: string; port: number } | undefined;
  /** Bearer token required on TCP (not on the socket). */
  token: string | undefined;
  /** Larger request bodies are refused with 413. @default 1048576 (1 MiB) */
  maxBodyBytes: number;
}

export interface ReconnectConfig {
  /** First wait before reopening a lost port; doubles on every failed attempt. @default 500 */
  initialDelayMs: number;
  /** Longest wait between attempts. @default 30000 */
  maxDelayMs: number;
}

export interface JobsConfig {
  /** A running job is cancelled (at the next safe point) after this long. @default 600000 (10 min) */
  timeoutMs: number;
  /** A queued job fails once it has waited this long for its port to come (back) up. @default 300000 (5 min) */
  portWaitMs: number;
  /** Finished jobs kept in memory for `GET /jobs/:id` (older ones are only in the journal). @default 1000 */
  history: number;
  /** Largest `read` job, in bytes. @default 65536 */
  maxReadBytes: number;
  /** Folders below which `bin`/`files`/`dir` sources may be read. @default [] (only inline sources) */
  fileRoots: string[];
}

export interface StationConfig {
  /** Where the config was read from (for messages). */
  source: string;
  ports: PortConfig[];
  api: ApiConfig;
  /** Append-only JSON-lines journal of job acceptances and outcomes. @default `at-pki-journal.jsonl` next to the config */
  journal: string;
  /** @default 'info' */
  logLevel: LogLevel;
  reconnect: ReconnectConfig;
  jobs: JobsConfig;
  /** On SIGTERM/SIGINT, how long running jobs may take to finish before they are cancelled. @default 30000 */
  shutdownGraceMs: number;
  /** Station mode: bays provision the units plugged into them (station-mode-config.ts). */
  station?: StationModeConfig;
}

export const CONFIG_DEFAULTS = {
  baudRate: 115200,
  timeoutMs: 3000,
  maxBodyBytes: 1024 * 1024,
  journal: 'at-pki-journal.jsonl',
  socketName: 'at-pki.sock',
  logLevel: 'info' as LogLevel,
  reconnect: { initialDelayMs: 500, maxDelayMs: 30_000 },
  jobs: { timeoutMs: 600_000, portWaitMs: 300_000, history: 1000, maxReadBytes: 65536 },
  shutdownGraceMs: 30_000,
} as const;

/** Longest unix socket path Linux and macOS accept (sun_path minus the terminator). */
const MAX_SOCKET_PATH = 103;
const MIN_TOKEN_LENGTH = 16;
export const PORT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

export interface ParseConfigOptions {
  /** Folder relative paths are resolved against (the config file's). @default process.cwd() */
  baseDir?: string;
  /** For the default socket location. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Name used in messages. @default 'config' */
  source?: string;
}

/** Read and check a config file. InputError (exit 2) for an unreadable file, bad JSON or any bad field. */
export async function loadStationConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<StationConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? error);
    throw new InputError(`cannot read config ${path}: ${reason}`, { details: { path } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path}: not valid JSON: ${(error as Error).message}`, { details: { path } });
  }
  return parseStationConfig(raw, { baseDir: dirname(resolve(path)), env, source: path });
}

/** Check a parsed config object and fill in the defaults. */
export function parseStationConfig(raw: unknown, options: ParseConfigOptions = {}): StationConfig {
  const source = options.source ?? 'config';
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? process.env;
  const fail = (path: string, message: string): never => {
    throw new InputError(`${source}: ${path}: ${message}`, { details: { source, field: path } });
  };
  const filePath = (value: string): string => (isAbsolute(value) ? value : resolve(baseDir, value));

  const root = object(raw, '(top level)', fail);
  only(root, ['ports', 'api', 'journal', 'logLevel', 'reconnect', 'jobs', 'shutdownGraceMs', 'station', '$comment'], '', fail);

  // ports
  if (root.ports === undefined) fail('ports', 'is required: a list of { "name", "url", "baud"? }');
  if (!Array.isArray(root.ports) || root.ports.length === 0) fail('ports', 'must be a non-empty list');
  const ports: PortConfig[] = [];
  const names = new Set<string>();
  const urls = new Set<string>();
  (root.ports as unknown[]).forEach((entry, i) => {
    const at = `ports[${i}]`;
    const port = object(entry, at, fail);
    only(port, ['name', 'url', 'baud', 'timeoutMs'], at, fail);
    const name = string(port.name, `${at}.name`, fail);
    if (!PORT_NAME_PATTERN.test(name)) fail(`${at}.name`, `'${name}' must be 1-32 letters, digits, '_', '.' or '-' (starting with a letter or digit)`);
    if (names.has(name)) fail(`${at}.name`, `'${name}' is used twice`);
    names.add(name);
    const url = string(port.url, `${at}.url`, fail);
    try {
      parseTransportUrl(url);
    } catch (error) {
      fail(`${at}.url`, error instanceof AtPkiError ? error.message : String(error));
    }
    if (urls.has(url)) fail(`${at}.url`, `'${url}' is used by two ports`);
    urls.add(url);
    ports.push({
      name,
      url,
      baudRate: integer(port.baud, `${at}.baud`, fail, { min: 300, max: 5_000_000, fallback: CONFIG_DEFAULTS.baudRate }),
      timeoutMs: integer(port.timeoutMs, `${at}.timeoutMs`, fail, { min: 100, max: 600_000, fallback: CONFIG_DEFAULTS.timeoutMs }),
    });
  });

  // api
  const api = root.api === undefined ? {} : object(root.api, 'api', fail);
  only(api, ['socket', 'tcp', 'token', 'tokenFile', 'maxBodyBytes'], 'api', fail);
  let socket: string | undefined;
  if (api.socket === false) socket = undefined;
  else if (api.socket === undefined) socket = defaultSocketPath(env, baseDir);
  else socket = filePath(string(api.socket, 'api.socket', fail, 'a path, or false to disable the socket'));
  if (socket !== undefined && socket.length > MAX_SOCKET_PATH) {
    fail('api.socket', `'${socket}' is ${socket.length} characters; unix socket paths may have at most ${MAX_SOCKET_PATH}`);
  }
  let tcp: ApiConfig['tcp'];
  if (api.tcp !== undefined) {
    const t = object(api.tcp, 'api.tcp', fail);
    only(t, ['host', 'port'], 'api.tcp', fail);
    const host = t.host === undefined ? '127.0.0.1' : string(t.host, 'api.tcp.host', fail);
    if (!isLoopback(host)) fail('api.tcp.host', `'${host}' is not a loopback address (use 127.0.0.1 or ::1; put a reverse proxy in front for anything else)`);
    tcp = { host, port: integer(t.port, 'api.tcp.port', fail, { min: 0, max: 65535 }) };
  }
  if (api.token !== undefined && api.tokenFile !== undefined) fail('api.token', 'give token or tokenFile, not both');
  let token: string | undefined;
  if (api.token !== undefined) token = string(api.token, 'api.token', fail);
  if (api.tokenFile !== undefined) {
    const path = filePath(string(api.tokenFile, 'api.tokenFile', fail));
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (error) {
      fail('api.tokenFile', `cannot read ${path}: ${String((error as { code?: unknown }).code ?? error)}`);
    }
  }
  if (token !== undefined && (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))) {
    fail(api.tokenFile !== undefined ? 'api.tokenFile' : 'api.token', `the token must be at least ${MIN_TOKEN_LENGTH} characters without spaces`);
  }
  if (tcp && token === undefined) fail('api.token', 'is required when api.tcp is set (clients send "Authorization: Bearer <token>")');
  if (!tcp && socket === undefined) fail('api', 'the socket is disabled and no tcp listener is set: the API would be unreachable');
  const maxBodyBytes = integer(api.maxBodyBytes, 'api.maxBodyBytes', fail, { min: 1024, max: 64 * 1024 * 1024, fallback: CONFIG_DEFAULTS.maxBodyBytes });

  // journal, logLevel
  const journal = filePath(root.journal === undefined ? CONFIG_DEFAULTS.journal : string(root.journal, 'journal', fail));
  const logLevel = root.logLevel === undefined ? CONFIG_DEFAULTS.logLevel : string(root.logLevel, 'logLevel', fail);
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) fail('logLevel', `'${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);

  // reconnect
  const rc = root.reconnect === undefined ? {} : object(root.reconnect, 'reconnect', fail);
  only(rc, ['initialDelayMs', 'maxDelayMs'], 'reconnect', fail);
  const initialDelayMs = integer(rc.initialDelayMs, 'reconnect.initialDelayMs', fail, { min: 10, max: 3_600_000, fallback: CONFIG_DEFAULTS.reconnect.initialDelayMs });
  const maxDelayMs = integer(rc.maxDelayMs, 'reconnect.maxDelayMs', fail, { min: 10, max: 3_600_000, fallback: CONFIG_DEFAULTS.reconnect.maxDelayMs });
  if (maxDelayMs < initialDelayMs) fail('reconnect.maxDelayMs', `must be at least reconnect.initialDelayMs (${initialDelayMs})`);

  // jobs
  const jb = root.jobs === undefined ? {} : object(root.jobs, 'jobs', fail);
  only(jb, ['timeoutMs', 'portWaitMs', 'history', 'maxReadBytes', 'fileRoots'], 'jobs', fail);
  const d = CONFIG_DEFAULTS.jobs;
  let fileRoots: string[] = [];
  if (jb.fileRoots !== undefined) {
    if (!Array.isArray(jb.fileRoots)) fail('jobs.fileRoots', 'must be a list of folders');
    fileRoots = (jb.fileRoots as unknown[]).map((entry, i) => filePath(string(entry, `jobs.fileRoots[${i}]`, fail)));
  }
  const jobs: JobsConfig = {
    timeoutMs: integer(jb.timeoutMs, 'jobs.timeoutMs', fail, { min: 1000, max: 86_400_000, fallback: d.timeoutMs }),
    portWaitMs: integer(jb.portWaitMs, 'jobs.portWaitMs', fail, { min: 0, max: 86_400_000, fallback: d.portWaitMs }),
    history: integer(jb.history, 'jobs.history', fail, { min: 0, max: 1_000_000, fallback: d.history }),
    maxReadBytes: integer(jb.maxReadBytes, 'jobs.maxReadBytes', fail, { min: 1, max: 16 * 1024 * 1024, fallback: d.maxReadBytes }),
    fileRoots,
  };

  const shutdownGraceMs = integer(root.shutdownGraceMs, 'shutdownGraceMs', fail, { min: 0, max: 3_600_000, fallback: CONFIG_DEFAULTS.shutdownGraceMs });

  return {
    source,
    ports,
    api: { socket, tcp, token, maxBodyBytes },
    journal,
    logLevel: logLevel as LogLevel,
    reconnect: { initialDelayMs, maxDelayMs },
    jobs,
    shutdownGraceMs,
    ...(root.station !== undefined ? { station: parseStationModeConfig(root.station, ports.map((p) => p.name), baseDir, fail) } : {}),
  };
}

/**
 * Where the API socket goes when the config does not say: `$RUNTIME_DIRECTORY` (systemd's
 * RuntimeDirectory=), else `$XDG_RUNTIME_DIR`, else next to the config file; named `at-pki.sock`.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv, baseDir: string): string {
  const dir = env.RUNTIME_DIRECTORY?.split(':')[0] || env.XDG_RUNTIME_DIR || baseDir;
  return resolve(dir, CONFIG_DEFAULTS.socketName);
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const version = isIP(host);
  if (version === 4) return host.startsWith('127.');
  if (version === 6) return host === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(host);
  return false;
}

// ------------------------------------------------------------------------------------------------
// Small typed readers: each returns the value or calls fail(path, message), which throws.
// ------------------------------------------------------------------------------------------------

type Fail = (path: string, message: string) => never;

function object(value: unknown, path: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, `must be an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function only(value: Record<string, unknown>, allowed: readonly string[], path: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const where = path === '' ? key : `${path}.${key}`;
      fail(where, `unknown field (allowed here: ${allowed.filter((k) => k !== '$comment').join(', ')})`);
    }
  }
}

function string(value: unknown, path: string, fail: Fail, what = 'a string'): string {
  if (typeof value !== 'string' || value === '') fail(path, value === undefined ? 'is required' : `must be ${what}, got ${describe(value)}`);
  return value as string;
}

function integer(value: unknown, path: string, fail: Fail, range: { min: number; max: number; fallback?: number }): number {
  if (value === undefined) {
    if (range.fallback !== undefined) return range.fallback;
    fail(path, 'is required');
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    fail(path, `must be a whole number between ${range.min} and ${range.max}, got ${describe(value)}`);
  }
  return value as number;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
