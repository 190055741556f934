/**
 * `POST /jobs` bodies, checked strictly before anything is queued: unknown fields, wrong types, an
 * unknown port, a partition name that could not be sent safely (quotes, commas, control characters,
 * more than 16 characters), a partition the port's module does not have, a bin that does not fit, a
 * read outside the partition. Every refusal is a RequestError (4xx) or an InputError (400): no request
 * that fails here can reach a module.
 */
import { checkImageFormatFor, checkItemTypesFor } from '../flash/bin-source.js';
import { isCredentialPartition } from '../flash/partition-table.js';
import { NOT_A_CREDENTIAL_PARTITION } from '../flash/update-credentials.js';
import { keysFor } from '../flash/mfg-update.js';
import type { StorageMode } from '../flash/module.js';
import type { Partition } from '../flash/partition-table.js';
import { FIRMWARE_MAX_ITEMS } from '../pki/validate.js';
import { PKI_TYPES, type PkiType } from '../pki/types.js';
import type { JobRequest, JobSource, JobSpec, JobType } from './api-types.js';
import { resolveJobSource, wipeCredentials, type Credentials } from './bin-input.js';
import { describeValue, isPlain } from './echo.js';
import { RequestError } from './errors.js';

/** ESP-IDF partition labels: at most 16 characters; we also keep to characters that need no quoting. */
export const PARTITION_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$/;

const JOB_TYPES: readonly JobType[] = ['update', 'partitions', 'read', 'verify'];
const MAX_PATH = 4096;

/** What is known about the module last seen on a port (nothing before its first connection). */
export interface PortKnowledge {
  partitions: readonly Partition[] | undefined;
  storage: StorageMode | undefined;
}

export interface JobRequestContext {
  /** Configured ports, with what is known about the module last seen on each. */
  ports: ReadonlyMap<string, PortKnowledge>;
  maxReadBytes: number;
  fileRoots: readonly string[];
}

export interface PreparedJob {
  spec: JobSpec;
  /** update/verify: the bin and its items (only in memory). */
  credentials?: Credentials;
  warnings: string[];
}

/** Check a request body and build its job (including the bin). */
export async function prepareJob(body: unknown, context: JobRequestContext): Promise<PreparedJob> {
  const request = parseJobRequest(body, context);
  const port = context.ports.get(request.port)!;
  // An update on an mfg_nvs module (ESP-AT >= 3.1) may name a namespace instead of a partition.
  const namespaceUpdate =
    request.type === 'update' && port.storage === 'mfg_nvs' && !port.partitions?.some((p) => p.label === request.partition);
  const partition = 'partition' in request && !namespaceUpdate ? findPartition(request.port, request.partition, port.partitions) : undefined;

  switch (request.type) {
    case 'partitions':
      return { spec: { type: 'partitions', port: request.port }, warnings: [] };
    case 'read': {
      const offset = request.offset ?? 0;
      let length = request.length;
      if (partition) {
        if (offset >= partition.size) bad('offset', `${offset} is past the end of partition ${partition.label} (${partition.size} bytes)`);
        if (length === undefined) {
          length = partition.size - offset;
          if (length > context.maxReadBytes) bad('length', `the rest of ${partition.label} is ${length} bytes, more than the ${context.maxReadBytes} a read job may return; give a length`);
        } else if (offset + length > partition.size) {
          bad('length', `${length} bytes at offset ${offset} do not fit in partition ${partition.label} (${partition.size} bytes)`);
        }
      }
      const spec: JobSpec = { type: 'read', port: request.port, partition: request.partition, offset };
      if (length !== undefined) spec.length = length;
      return { spec, warnings: [] };
    }
    case 'update':
    case 'verify': {
      const resolved = await resolveJobSource(request.source, {
        partition: request.partition,
        validate: request.validate ?? true,
        fileRoots: context.fileRoots,
      });
      const { credentials } = resolved;
      try {
        checkTarget(request.type, request.partition, credentials, partition, namespaceUpdate, request.validate ?? true);
        if (request.type === 'update' && partition && !request.anyPartition && !isCredentialPartition(partition)) {
          throw new RequestError(
            400,
            NOT_A_CREDENTIAL_PARTITION,
            `${partition.label} is not a credential partition (type 0x${partition.type.toString(16)}, subtype ${partition.subtype}): update jobs write PKI partitions and esp_secure_cert only ("anyPartition": true overrides)`,
            { partition: partition.label, type: partition.type, subtype: partition.subtype },
          );
        }
      } catch (error) {
        wipeCredentials(credentials);
        throw error;
      }
      const spec: JobSpec = { type: request.type, port: request.port, partition: request.partition, bin: resolved.summary };
      if (request.type === 'update') {
        spec.force = request.force ?? false;
        if (request.anyPartition) spec.anyPartition = true;
      }
      return { spec, credentials, warnings: resolved.warnings };
    }
  }
}

/** The shape checks alone (synchronous, no file or device access). */
export function parseJobRequest(body: unknown, context: Pick<JobRequestContext, 'ports' | 'maxReadBytes'>): JobRequest {
  const job = object(body, 'the body');
  const type = job.type;
  if (type === undefined) bad('type', `is required (${JOB_TYPES.join(', ')})`);
  if (typeof type !== 'string' || !(JOB_TYPES as readonly string[]).includes(type)) bad('type', `must be one of ${JOB_TYPES.join(', ')}, got ${describeValue(type)}`);
  const fields: Record<JobType, readonly string[]> = {
    update: ['type', 'port', 'partition', 'source', 'force', 'validate', 'anyPartition'],
    verify: ['type', 'port', 'partition', 'source', 'validate'],
    read: ['type', 'port', 'partition', 'offset', 'length'],
    partitions: ['type', 'port'],
  };
  only(job, fields[type as JobType], '', `for a ${type} job`);
  const port = string(job.port, 'port');
  if (!context.ports.has(port)) {
    throw new RequestError(400, 'UNKNOWN_PORT', `no port named ${describeValue(port)} (configured: ${[...context.ports.keys()].join(', ')})`);
  }

  switch (type as JobType) {
    case 'partitions':
      return { type: 'partitions', port };
    case 'read': {
      const request: JobRequest = { type: 'read', port, partition: partitionName(job.partition) };
      if (job.offset !== undefined) request.offset = integer(job.offset, 'offset', 0, 0x7fffffff);
      if (job.length !== undefined) request.length = integer(job.length, 'length', 1, context.maxReadBytes);
      return request;
    }
    case 'update':
    case 'verify': {
      const partition = partitionName(job.partition);
      const source = jobSource(job.source);
      const validate = job.validate === undefined ? undefined : boolean(job.validate, 'validate');
      if (type === 'verify') return { type: 'verify', port, partition, source, ...(validate === undefined ? {} : { validate }) };
      const force = job.force === undefined ? undefined : boolean(job.force, 'force');
      const anyPartition = job.anyPartition === undefined ? undefined : boolean(job.anyPartition, 'anyPartition');
      return {
        type: 'update',
        port,
        partition,
        source,
        ...(validate === undefined ? {} : { validate }),
        ...(force === undefined ? {} : { force }),
        ...(anyPartition === undefined ? {} : { anyPartition }),
      };
    }
  }
}

function jobSource(value: unknown): JobSource {
  const source = object(value, 'source');
  const kinds = ['inline-bin', 'items', 'bin', 'files', 'dir'];
  if (typeof source.kind !== 'string' || !kinds.includes(source.kind)) bad('source.kind', `must be one of ${kinds.join(', ')}, got ${describeValue(source.kind)}`);
  switch (source.kind) {
    case 'inline-bin':
      only(source, ['kind', 'base64'], 'source');
      return { kind: 'inline-bin', base64: string(source.base64, 'source.base64', Infinity) };
    case 'items': {
      only(source, ['kind', 'items'], 'source');
      const items = list(source.items, 'source.items', FIRMWARE_MAX_ITEMS);
      return {
        kind: 'items',
        items: items.map((entry, i) => {
          const at = `source.items[${i}]`;
          const item = object(entry, at);
          only(item, ['type', 'pem', 'base64'], at);
          const type = pkiType(item.type, `${at}.type`);
          if ((item.pem === undefined) === (item.base64 === undefined)) bad(at, 'give exactly one of pem (PEM text) or base64 (the file bytes)');
          return item.pem !== undefined ? { type, pem: string(item.pem, `${at}.pem`, Infinity) } : { type, base64: string(item.base64, `${at}.base64`, Infinity) };
        }),
      };
    }
    case 'bin':
      only(source, ['kind', 'path'], 'source');
      return { kind: 'bin', path: path(source.path, 'source.path') };
    case 'files': {
      only(source, ['kind', 'files'], 'source');
      const files = list(source.files, 'source.files', FIRMWARE_MAX_ITEMS);
      return {
        kind: 'files',
        files: files.map((entry, i) => {
          const at = `source.files[${i}]`;
          const file = object(entry, at);
          only(file, ['type', 'path'], at);
          return { type: pkiType(file.type, `${at}.type`), path: path(file.path, `${at}.path`) };
        }),
      };
    }
    default:
      only(source, ['kind', 'root'], 'source');
      return { kind: 'dir', root: path(source.root, 'source.root') };
  }
}

/** Does what the job carries fit where it goes? (Only what is known about the module is checked.) */
function checkTarget(
  type: 'update' | 'verify',
  target: string,
  credentials: Credentials,
  partition: Partition | undefined,
  namespaceUpdate: boolean,
  validate: boolean,
): void {
  const { bin, format } = credentials;
  // The same rules as the CLI's update (InputError → 400 BAD_INPUT).
  checkImageFormatFor(target, format);
  if (validate && format === 'atpki') checkItemTypesFor(target, credentials.items);
  if (namespaceUpdate) {
    keysFor(target, credentials.items.length); // InputError (400) for a name that is not a PKI namespace
    return;
  }
  const needed = type === 'update' ? Math.ceil(bin.length / 4) * 4 : bin.length;
  if (partition && needed > partition.size) {
    throw new RequestError(400, 'BIN_TOO_LARGE', `the bin (${bin.length} bytes) does not fit in partition ${partition.label} (${partition.size} bytes)`, {
      binBytes: bin.length,
      partitionSize: partition.size,
    });
  }
}

function findPartition(port: string, label: string, partitions: readonly Partition[] | undefined): Partition | undefined {
  if (!partitions) return undefined;
  const found = partitions.find((p) => p.label === label);
  if (found) return found;
  throw new RequestError(400, 'UNKNOWN_PARTITION', `the module on port ${port} has no partition named '${label}'; it has: ${partitions.map((p) => p.label).join(', ') || 'none'}`, {
    partition: label,
    available: partitions.map((p) => p.label),
  });
}

// ------------------------------------------------------------------------------------------------

function bad(field: string, message: string): never {
  throw new RequestError(400, 'BAD_INPUT', field === '' ? message : `${field}: ${message}`, field === '' ? undefined : { field });
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(what === 'the body' ? '' : what, `${what === 'the body' ? 'the body ' : ''}must be a JSON object, got ${describeValue(value)}`);
  return value as Record<string, unknown>;
}

function only(value: Record<string, unknown>, allowed: readonly string[], path: string, context = ''): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      const allowedHere = `${context ? ` ${context}` : ''} (allowed: ${allowed.join(', ')})`;
      // The name itself only when short and plain (see echo.ts).
      if (isPlain(key)) bad(path === '' ? key : `${path}.${key}`, `unknown field${allowedHere}`);
      bad(path, `a field whose name is not shown (${key.length} characters) is unknown here${allowedHere}`);
    }
  }
}

function string(value: unknown, field: string, maxLength = 256): string {
  if (value === undefined) bad(field, 'is required');
  if (typeof value !== 'string') bad(field, `must be a string, got ${describeValue(value)}`);
  const text = value as string;
  if (text === '') bad(field, 'must not be empty');
  if (text.length > maxLength) bad(field, `is longer than ${maxLength} characters`);
  return text;
}

function path(value: unknown, field: string): string {
  const text = string(value, field, MAX_PATH);
  if (text.includes('\0')) bad(field, 'contains a NUL character');
  return text;
}

function partitionName(value: unknown): string {
  const name = string(value, 'partition', 64);
  if (!PARTITION_NAME_PATTERN.test(name)) {
    bad('partition', `${describeValue(name)} is not a partition label (1-16 letters, digits, '_', '.' or '-'; no quotes, commas, spaces or control characters)`);
  }
  return name;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(field, `must be a whole number between ${min} and ${max}, got ${describeValue(value)}`);
  }
  return value as number;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') bad(field, `must be true or false, got ${describeValue(value)}`);
  return value as boolean;
}

function list(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) bad(field, `must be a list, got ${describeValue(value)}`);
  const items = value as unknown[];
  if (items.length === 0) bad(field, 'must not be empty');
  if (items.length > max) bad(field, `has ${items.length} entries; at most ${max}`);
  return items;
}

function pkiType(value: unknown, field: string): PkiType {
  if (typeof value !== 'string' || !(PKI_TYPES as readonly string[]).includes(value)) bad(field, `must be one of ${PKI_TYPES.join(', ')}, got ${describeValue(value)}`);
  return value as PkiType;
}
