/**
 * The daemon's HTTP API as data: request bodies, responses and the job event stream. Shared by the
 * daemon and the client (types only, no runtime code), so both sides agree at compile time.
 */
import type { OperationEvent } from '../flash/events.js';
import type { Partition } from '../flash/partition-table.js';
import type { PkiType } from '../pki/types.js';

// ------------------------------------------------------------------------------------------------
// Jobs
// ------------------------------------------------------------------------------------------------

export type JobType = 'update' | 'partitions' | 'read' | 'verify';

/**
 * - `queued`: accepted, waiting for its turn (or for its port to come up); nothing done to the module yet;
 * - `running`: working on the module;
 * - `succeeded` / `failed`: finished (a failure says what state the module was left in: `error.details.deviceState`);
 * - `cancelled`: removed before it started (DELETE, or the daemon shut down): the module was not touched;
 * - `interrupted`: the daemon stopped (crash, kill -9, power loss) while the job was queued or running;
 *   reported by the next daemon run, with the partition's checked state in `recovery` for update jobs.
 */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted' | 'cancelled';

export const FINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'interrupted', 'cancelled'];

/** One credential, inline: PEM text or base64 of the file bytes (DER or PEM). */
export type InlineItem = { type: PkiType; pem: string } | { type: PkiType; base64: string };

/**
 * Where the bin of an update/verify job comes from.
 * - `inline-bin`: a ready-made PKI bin, base64 (checked to be a well-formed bin);
 * - `items`: credentials inline, encoded into a bin by the daemon (as `at-pki generate` does);
 * - `bin` / `files` / `dir`: files on the daemon's host, as for `at-pki update --bin / <type> <file> / --from`.
 *   Only read from below the configured `jobs.fileRoots` (refused when it is empty, the default).
 */
export type JobSource =
  | { kind: 'inline-bin'; base64: string }
  | { kind: 'items'; items: InlineItem[] }
  | { kind: 'bin'; path: string }
  | { kind: 'files'; files: { type: PkiType; path: string }[] }
  | { kind: 'dir'; root: string };

/** Body of `POST /jobs`. Unknown fields are refused. */
export type JobRequest =
  | {
      type: 'update';
      port: string;
      partition: string;
      source: JobSource;
      /** Erase and rewrite even if the module already holds this bin. @default false */
      force?: boolean;
      /** Check the certificates/keys before writing. @default true */
      validate?: boolean;
    }
  | {
      type: 'verify';
      port: string;
      partition: string;
      source: JobSource;
      /** @default true */
      validate?: boolean;
    }
  | {
      type: 'read';
      port: string;
      partition: string;
      /** @default 0 */
      offset?: number;
      /** @default the rest of the partition (at most `jobs.maxReadBytes`) */
      length?: number;
    }
  | { type: 'partitions'; port: string };

/** A bin as the daemon remembers it: never its content. */
export interface BinSummary {
  /** Hex SHA-256 of the bin (without the 0xFF padding to 4 bytes). */
  sha256: string;
  bytes: number;
  /** Items in the bin. */
  items: number;
  source: JobSource['kind'];
}

/** What a job was asked to do, without any credential bytes. */
export interface JobSpec {
  type: JobType;
  port: string;
  partition?: string;
  bin?: BinSummary;
  force?: boolean;
  offset?: number;
  length?: number;
  /** The unit (eFuse MAC) on the port when the job was accepted: the job runs on that unit only. */
  unit?: string;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Checked after a restart for an update job that was running when the daemon stopped. */
export type PartitionState = 'holds-new-bin' | 'does-not-hold-new-bin' | 'unknown';

export interface JobRecovery {
  partitionState: PartitionState;
  /** When the partition was checked; absent while its port has not been up since the restart. */
  checkedAt?: string;
  message: string;
}

/** `GET /jobs/:id`, and each entry of `GET /jobs`. */
export interface JobView {
  id: string;
  state: JobState;
  type: JobType;
  port: string;
  partition?: string;
  request: JobSpec;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Jobs ahead of this one on its port (queued jobs only). */
  position?: number;
  /** Validation warnings about the bin's items. */
  warnings?: string[];
  /** `succeeded` jobs. For `read` jobs it holds `data` (base64), which the event stream and the journal never carry. */
  result?: Record<string, unknown>;
  /** `failed`, `cancelled` and `interrupted` jobs; `details.deviceState` says what was done to the module. */
  error?: ApiErrorBody;
  recovery?: JobRecovery;
}

// ------------------------------------------------------------------------------------------------
// Events (GET /jobs/:id/events): JSON lines, the same shapes as the CLI's --json output
// ------------------------------------------------------------------------------------------------

export interface BeginEvent {
  type: 'begin';
  operation: JobType;
  /** The port's name (the CLI puts its port argument here). */
  port: string;
  partition?: string;
}

export type EndEvent =
  | { type: 'end'; ok: true; result: Record<string, unknown> }
  | { type: 'end'; ok: false; error: ApiErrorBody };

export type JobEvent = BeginEvent | OperationEvent | EndEvent;

// ------------------------------------------------------------------------------------------------
// Status and ports
// ------------------------------------------------------------------------------------------------

export type PortStateName = 'connecting' | 'up' | 'down' | 'stopped';

export interface FirmwareView {
  /** `2.4.0.0`, or `unknown`. */
  atVersion: string;
  /** The AT+GMR lines. */
  lines: string[];
}

export interface PortStatus {
  name: string;
  url: string;
  state: PortStateName;
  /** When the port entered this state. */
  since: string;
  /** Of the module connected now (or last, while down). */
  firmware?: FirmwareView;
  /** Where that module keeps credentials: `partitions` (ESP-AT <= 3.0) or `mfg_nvs` (>= 3.1). */
  storage?: 'partitions' | 'mfg_nvs';
  /** Why the port is down, or why the last connection attempt failed. */
  lastError?: ApiErrorBody;
  /** Times the port came back after it was lost. */
  reconnects: number;
  /** Times the module restarted on its own (it printed `ready`). */
  resets: number;
  currentJob?: { id: string; type: JobType; partition?: string; startedAt: string };
  /** Jobs waiting for this port. */
  queued: number;
}

/** `GET /status`. */
export interface StationStatus {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  /** False while shutting down: `POST /jobs` answers 503. */
  accepting: boolean;
  ports: PortStatus[];
  jobs: { queued: number; running: number; interrupted: number };
}

/** `GET /ports/:name/partitions`. */
export interface PortPartitions {
  port: string;
  state: PortStateName;
  /** True when the port is not up: the table is the one the module had when last connected. */
  stale: boolean;
  firmware?: FirmwareView;
  storage?: 'partitions' | 'mfg_nvs';
  partitions: Partition[];
}
