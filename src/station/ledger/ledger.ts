/**
 * The station's ledger: which credential set went to which unit, and everything that happened on the
 * way. Backend-neutral and async (SQLite answers at once; PostgreSQL over the network). Each backend
 * keeps its SQL in one module (`sqlite-ledger.ts`, `postgres-ledger.ts`); `open-ledger.ts` picks one.
 *
 * What it holds: batches, sets (public parts only: certificate, serial, SHA-256, subject, expiry, and
 * per file its size and SHA-256 — never a private key), devices, assignments and an append-only event
 * log. An assignment binds one set to one device and moves through
 *
 *     available ──claim──▶ reserved ──▶ writing ──▶ verified
 *                              │           │  ▲  ╲
 *                       release│           ▼  │   ▶ suspect (unit left / outcome unknown)
 *                              ▼         failed
 *                          available
 *
 * A reserved set (no byte sent yet) can be released. Once it is `writing` the set stays bound to that
 * device for good: failed, suspect and crash-interrupted writing assignments are retried on the same device (→ writing again),
 * never handed to another. A verified unit provisioned again goes verified → writing → verified (the
 * update writes nothing when the module already holds the set). Each set is in at most one
 * assignment, and each device has at most one current assignment per batch: UNIQUE constraints, not
 * just code, make a double assignment impossible.
 *
 * Issued credentials (per-device certificates from a factory CA) are sets created at claim time in a
 * batch of kind `issued`. Their private key lives only in the provisioning process; if that process
 * dies mid-write the key is gone, so the assignment is `retire`d (kept, set still bound, no longer
 * current) and a new set is issued.
 */
import type { StorageMode } from '../../flash/module.js';
import type { PkiType } from '../../pki/types.js';

export type IdentitySource = 'efuse' | 'station-mac';
export type BatchKind = 'sets' | 'issued';
export type AssignmentState = 'reserved' | 'writing' | 'verified' | 'failed' | 'suspect';
export const ASSIGNMENT_STATES: readonly AssignmentState[] = ['reserved', 'writing', 'verified', 'failed', 'suspect'];
/** The states an assignment may move to from each state (release of a reserved one is separate: it deletes it). */
export const TRANSITIONS: Readonly<Record<AssignmentState, readonly AssignmentState[]>> = {
  reserved: ['writing', 'suspect'],
  // writing → writing: a crash left it writing and the same unit is provisioned again.
  writing: ['writing', 'verified', 'failed', 'suspect'],
  verified: ['writing'],
  failed: ['writing', 'suspect'],
  suspect: ['writing', 'failed', 'verified'],
};
/** Export outcome of an assignment: in-flight `writing` counts as suspect (not known to be good). */
export type ExportOutcome = 'verified' | 'failed' | 'suspect';

/** Who is acting, where: every state change and event names it. */
export interface LedgerContext {
  /** The station (`--station NAME`, default the host name). */
  station: string;
  /** The port (bay) URL or name, when a device is involved. */
  port?: string;
  /** The operator or process (`user@host`, `daemon`). @default the OS user */
  actor?: string;
}

export interface DeviceRecord {
  /** `aa:bb:cc:dd:ee:ff`, lowercase. */
  mac: string;
  chip: string;
  firmware: string;
  storageMode?: StorageMode;
  identitySource: IdentitySource;
  /** What `AT+CIPSTAMAC?` said, when asked. */
  stationMac?: string;
  warnings?: string[];
}

/** One credential file of a set: where it goes and a fingerprint (the bytes stay in the batch folder or in memory). */
export interface SetFile {
  /** Partition (ESP-AT ≤ 3.0) or mfg_nvs namespace: `client_cert`, `mqtt_key`… */
  target: string;
  type: PkiType;
  /** Path relative to the set's folder (`client_cert/client_cert.pem`); empty for issued sets. */
  file: string;
  bytes: number;
  sha256Hex: string;
}

export interface NewSet {
  /** Unique within its batch: the folder name (batches), or the serial (issued). */
  name: string;
  certificatePem: string;
  certificateDer: Uint8Array;
  /** Lowercase hex, no separators. */
  serialHex: string;
  /** SHA-256 of the certificate DER, lowercase hex. Unique across the whole ledger. */
  sha256Hex: string;
  subject: string;
  notAfter: Date;
  files: SetFile[];
}

export interface SetRecord extends NewSet {
  id: number;
  batch: string;
}

export interface NewBatch {
  name: string;
  kind: BatchKind;
  /** Batches: the imported folder (absolute); issued: the CA certificate's SHA-256. */
  source: string;
}

export interface BatchSummary extends NewBatch {
  createdAt: Date;
  station: string;
  total: number;
  available: number;
  counts: Record<AssignmentState, number>;
}

export interface Assignment {
  id: number;
  batch: string;
  device: string;
  set: SetRecord;
  state: AssignmentState;
  /** False once retired (issued set whose key was lost); the set stays bound to the device. */
  current: boolean;
  station: string;
  port: string | undefined;
  /** Why it is failed/suspect/retired, one line. */
  reason: string | undefined;
  createdAt: Date;
  updatedAt: Date;
}

export type ClaimResult =
  | { kind: 'claimed' | 'existing'; assignment: Assignment }
  | { kind: 'exhausted'; batch: BatchSummary };

export interface LedgerEvent {
  id: number;
  time: Date;
  station: string;
  port: string | undefined;
  actor: string;
  /** `batch-imported`, `device-identified`, `claimed`, `released`, `writing`, `verified`, `failed`, `suspect`, `retired`, … */
  kind: string;
  device: string | undefined;
  batch: string | undefined;
  set: string | undefined;
  assignmentId: number | undefined;
  detail: Record<string, unknown>;
}

export interface NewEvent {
  kind: string;
  device?: string;
  batch?: string;
  set?: string;
  assignmentId?: number;
  detail?: Record<string, unknown>;
}

/** One line of `ledger export`: what a cloud registration or an MES takes. */
export interface ExportRecord {
  device: string;
  /** The set's name; absent for issued credentials. */
  set: string | undefined;
  batch: string;
  certSerial: string;
  certSha256: string;
  subject: string;
  station: string;
  port: string | undefined;
  /** ISO 8601, the assignment's last state change. */
  time: string;
  outcome: ExportOutcome;
}

export interface Ledger {
  /** `sqlite` or `postgres`. */
  readonly backend: string;
  /** Where it lives, for messages (a path; a URL without its password). */
  readonly location: string;

  /**
   * Create a batch of kind `sets` with all its sets, atomically. A set whose certificate
   * (SHA-256) is already anywhere in the ledger, a batch name in use, or duplicate names refuse the
   * whole import with an InputError (nothing stored).
   */
  importBatch(batch: NewBatch, sets: readonly NewSet[], context: LedgerContext): Promise<BatchSummary>;
  /** The `issued` batch of this name, created if missing. InputError if the name is a `sets` batch or has another source. */
  ensureIssuedBatch(batch: NewBatch, context: LedgerContext): Promise<BatchSummary>;
  batch(name: string): Promise<BatchSummary | undefined>;
  batches(): Promise<BatchSummary[]>;

  /** Insert or update what is known of a device (first/last seen kept by the backend); logs `device-identified`. */
  recordDevice(device: DeviceRecord, context: LedgerContext): Promise<void>;
  device(mac: string): Promise<DeviceRecord | undefined>;

  /**
   * Exactly once: the device's current assignment in this batch if it has one (`existing`, any state),
   * else the batch's next available set, reserved for it (`claimed`), else `exhausted`. Concurrent
   * claims (other processes, other stations) never get the same set.
   */
  claim(request: { batch: string; device: string }, context: LedgerContext): Promise<ClaimResult>;
  /**
   * For an `issued` batch: the device's current assignment if it has one (`existing`; the new set is
   * not stored), else the new set stored and reserved for the device (`claimed`).
   */
  claimIssued(request: { batch: string; device: string; set: NewSet }, context: LedgerContext): Promise<ClaimResult>;

  /** Move an assignment along TRANSITIONS; a LedgerStateError if it is not in a state that allows it. */
  transition(id: number, to: AssignmentState, context: LedgerContext, reason?: string, detail?: Record<string, unknown>): Promise<Assignment>;
  /** A reserved assignment whose set never reached the module: deleted, the set available again. LedgerStateError otherwise. */
  release(id: number, context: LedgerContext, reason: string): Promise<void>;
  /** No longer the device's current assignment (its set stays bound to it). Not for verified ones. */
  retire(id: number, context: LedgerContext, reason: string): Promise<Assignment>;

  assignment(id: number): Promise<Assignment | undefined>;
  currentAssignment(batch: string, device: string): Promise<Assignment | undefined>;
  /** Every assignment of a device (all batches, retired ones too), oldest first. */
  assignmentsOf(device: string): Promise<Assignment[]>;
  /** Assignments in `reserved` or `writing` (crash leftovers to reconcile), optionally of one station. */
  inFlight(filter?: { station?: string }): Promise<Assignment[]>;

  appendEvent(event: NewEvent, context: LedgerContext): Promise<void>;
  /** The event log, oldest first, optionally for one device or assignment. */
  events(filter?: { device?: string; assignmentId?: number }): Promise<LedgerEvent[]>;
  /** One record per assignment that reached the module (not `reserved`), oldest first. */
  exportRecords(): Promise<ExportRecord[]>;

  close(): Promise<void>;
}

/** Export outcome of an assignment state, or undefined for `reserved` (nothing sent; not exported). */
export function exportOutcome(state: AssignmentState): ExportOutcome | undefined {
  switch (state) {
    case 'reserved':
      return undefined;
    case 'verified':
      return 'verified';
    case 'failed':
      return 'failed';
    case 'writing':
    case 'suspect':
      return 'suspect';
  }
}
