/**
 * Helpers for the station tests: a daemon started in-process on emulated modules, a client for it,
 * raw HTTP for the error paths, waits that are bounded ("does not hang") but never timing assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator, removeEmulator, type EspAtEmulator, type EspAtEmulatorOptions } from '../../mock-device/index.js';
import type { JobEvent, JobView } from '../../src/station/api-types.js';
import { StationClient } from '../../src/station/client.js';
import { parseStationConfig } from '../../src/station/config.js';
import { createStationLogger } from '../../src/station/logger.js';
import { Station } from '../../src/station/station.js';
import { fixture } from '../pki/paths.js';
import { registerMockScheme } from '../support/device.js';

/** Generous bound for "this eventually happens"; never a measurement. */
export const EVENTUALLY_MS = 15_000;

export function tempDir(prefix = 'st'): { path: string; remove(): void } {
  // Short: unix socket paths are limited to ~104 characters.
  const path = mkdtempSync(join(tmpdir(), `atpki-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface EmulatedPort {
  name: string;
  id: string;
  url: string;
  emulator: EspAtEmulator;
}

let serial = 0;

/** A named in-process emulator reachable as `mock://...?id=...`. */
export function emulatedPort(name: string, options: EspAtEmulatorOptions = {}): EmulatedPort {
  registerMockScheme();
  const id = `station-${process.pid}-${++serial}-${name}`;
  const emulator = createEmulator(id, { chip: 'esp32c3', ...options });
  return { name, id, url: `mock://${emulator.chip}?id=${id}`, emulator };
}

export function removePorts(ports: readonly EmulatedPort[]): void {
  for (const port of ports) removeEmulator(port.id);
}

export interface TestStation {
  station: Station;
  client: StationClient;
  dir: string;
  socket: string;
  journal: string;
  /** Every log line the daemon wrote (JSON text). */
  logs: string[];
  stop(): Promise<void>;
}

export interface TestStationOptions {
  ports: readonly { name: string; url: string; baud?: number; timeoutMs?: number }[];
  /** Extra top-level config fields (api, jobs, reconnect...), merged over the test defaults. */
  config?: Record<string, unknown>;
  /** Reuse a folder (restart tests). */
  dir?: string;
}

/** Start a daemon in this process, logging (at debug by default) into memory. */
export async function startTestStation(options: TestStationOptions): Promise<TestStation> {
  registerMockScheme();
  const own = options.dir === undefined ? tempDir() : undefined;
  const dir = options.dir ?? own!.path;
  const socket = join(dir, 'api.sock');
  const raw = {
    ports: options.ports.map(({ name, url, baud, timeoutMs }) => ({ name, url, ...(baud ? { baud } : {}), ...(timeoutMs ? { timeoutMs } : {}) })),
    api: { socket },
    journal: 'journal.jsonl',
    logLevel: 'debug',
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    shutdownGraceMs: 10_000,
    ...options.config,
  };
  const config = parseStationConfig(raw, { baseDir: dir, source: 'test-station.json' });
  const logs: string[] = [];
  const logger = createStationLogger({ level: config.logLevel, destination: { write: (line: string) => void logs.push(line) } });
  const station = await Station.start(config, { logger, version: 'test' });
  return {
    station,
    client: new StationClient({ daemon: socket }),
    dir,
    socket,
    journal: config.journal,
    logs,
    stop: async () => {
      await station.stop();
      own?.remove();
    },
  };
}

/** Poll `check` until it returns a truthy value. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = EVENTUALLY_MS): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Wait until the job is finished; returns its view. */
export function finished(client: StationClient, id: string): Promise<JobView> {
  return eventually(async () => {
    const job = await client.getJob(id);
    return ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.state) ? job : undefined;
  }, `job ${id} to finish`);
}

/** Submit, follow the events to the end, return the events and the final view. */
export async function runJob(client: StationClient, job: Parameters<StationClient['submitJob']>[0]): Promise<{ id: string; events: JobEvent[]; view: JobView }> {
  const { id } = await client.submitJob(job);
  const events: JobEvent[] = [];
  await client.streamEvents(id, (event) => events.push(event));
  return { id, events, view: await client.getJob(id) };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** A raw HTTP request over the daemon's unix socket (or TCP), for checking exact answers. */
export function raw(
  target: { socket: string } | { host: string; port: number },
  method: string,
  path: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined && !options.chunked) headers['Content-Length'] ??= String(Buffer.byteLength(options.body));
    if (options.body !== undefined && headers['Content-Type'] === undefined) headers['Content-Type'] = 'application/json';
    const where = 'socket' in target ? { socketPath: target.socket } : { host: target.host, port: target.port };
    const req = request({ ...where, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export function pem(name: string): string {
  return fixture(name).toString('utf8');
}

/** An `items` source with the device certificate and key (a valid pair). */
export function certAndKeySource(): { kind: 'items'; items: { type: 'cert' | 'key'; pem: string }[] } {
  return { kind: 'items', items: [{ type: 'cert', pem: pem('device.crt') }, { type: 'key', pem: pem('device.key') }] };
}
