/**
 * Turns the source of an update/verify job into the bin to write, checked the same way the CLI checks
 * it: a ready-made bin is decoded (decodePkiBin), inline credentials are encoded (encodePkiBin), files
 * go through prepareBin; with `validate` the items are checked (validatePkiItems). Everything here
 * runs before the job is accepted, so a bad bin is a 400 and never reaches a module.
 *
 * The bin stays in memory only, for as long as its job lives; the daemon remembers it as a
 * BinSummary (SHA-256 + length).
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import { prepareBin, type BinSource } from '../flash/bin-source.js';
import { FileRoots, PathNotAllowedError } from '../flash/file-roots.js';
import { decodePkiBin, encodePkiBin, PKI_MAX_CONTENT_LENGTH } from '../pki/bin-format.js';
import type { PkiItem } from '../pki/types.js';
import { validatePkiItems, type Finding } from '../pki/validate.js';
import type { BinSummary, JobSource } from './api-types.js';
import { RequestError } from './errors.js';

/** What an update job writes: the bin for a partition, the items for an mfg_nvs namespace (ESP-AT ≥ 3.1). */
export interface Credentials {
  bin: Buffer;
  /** Owned copies of the items' contents (zeroed with the bin when the job ends). */
  items: PkiItem[];
  /** An ESP-AT PKI bin, or a whole esp_secure_cert image (only from a `bin` file source). */
  format: 'atpki' | 'esp-secure-cert';
}

export interface ResolvedBin {
  credentials: Credentials;
  summary: BinSummary;
  /** Validation warnings and notes, as messages. */
  warnings: string[];
}

/** Zero every credential byte held for a job. */
export function wipeCredentials(credentials: Credentials | undefined): void {
  if (!credentials) return;
  credentials.bin.fill(0);
  for (const item of credentials.items) Buffer.from(item.content.buffer, item.content.byteOffset, item.content.byteLength).fill(0);
}

function ownedItems(items: readonly PkiItem[]): PkiItem[] {
  return items.map((item) => ({ type: item.type, content: Buffer.from(item.content), ...(item.source ? { source: item.source } : {}) }));
}

export interface ResolveBinOptions {
  /** The job's partition (for `dir` sources: the files of `<root>/<partition>/`). */
  partition: string;
  validate: boolean;
  /** Folders file sources may be read from; empty: file sources are refused. */
  fileRoots: readonly string[];
}

/** Strict base64 (no whitespace, no URL alphabet, correct padding). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeBase64(text: string, field: string): Buffer {
  if (!BASE64.test(text)) throw new RequestError(400, 'BAD_INPUT', `${field}: not valid base64`, { field });
  return Buffer.from(text, 'base64');
}

export async function resolveJobSource(source: JobSource, options: ResolveBinOptions): Promise<ResolvedBin> {
  switch (source.kind) {
    case 'inline-bin': {
      const bytes = decodeBase64(source.base64, 'source.base64');
      if (bytes.length === 0) throw new RequestError(400, 'BAD_INPUT', 'source.base64: the bin is empty', { field: 'source.base64' });
      let decoded;
      try {
        decoded = decodePkiBin(bytes);
      } catch (error) {
        if (error instanceof InputError) throw new InputError(`source.base64: ${error.message}`, { details: { field: 'source.base64', ...error.details } });
        throw error;
      }
      const bin = Buffer.from(bytes.subarray(0, decoded.length));
      const items: PkiItem[] = decoded.items.map((item) => ({ type: item.type, content: item.content, source: `bin#${item.type}${item.id}` }));
      let warnings: string[];
      let owned: PkiItem[];
      try {
        warnings = [...decoded.warnings, ...(options.validate ? validate(items) : [])];
        owned = ownedItems(items);
      } finally {
        bytes.fill(0);
      }
      return { credentials: { bin, items: owned, format: 'atpki' }, summary: summarize(bin, items.length, source.kind), warnings };
    }
    case 'items': {
      const items: PkiItem[] = source.items.map((item, i) => {
        const field = `source.items[${i}]`;
        const content = 'pem' in item ? Buffer.from(item.pem, 'utf8') : decodeBase64(item.base64, `${field}.base64`);
        if (content.length === 0) throw new RequestError(400, 'BAD_INPUT', `${field}: empty content`, { field });
        if (content.length > PKI_MAX_CONTENT_LENGTH) {
          throw new RequestError(400, 'BAD_INPUT', `${field}: ${content.length} bytes; a PKI bin item holds at most ${PKI_MAX_CONTENT_LENGTH}`, { field });
        }
        return { type: item.type, content, source: field };
      });
      let warnings: string[];
      let bin: Buffer;
      try {
        warnings = options.validate ? validate(items) : [];
        bin = encodePkiBin(items);
      } catch (error) {
        wipeCredentials({ bin: Buffer.alloc(0), items, format: 'atpki' });
        throw error;
      }
      return { credentials: { bin, items, format: 'atpki' }, summary: summarize(bin, items.length, source.kind), warnings };
    }
    case 'bin':
    case 'files':
    case 'dir': {
      const within = allowedFolders(options.fileRoots);
      const binSource: BinSource =
        source.kind === 'bin'
          ? { kind: 'bin', path: source.path }
          : source.kind === 'files'
            ? { kind: 'files', files: source.files }
            : { kind: 'dir', root: source.root, partition: options.partition };
      // Nothing is opened before every name given is below a root: a quick 403, and no probing outside.
      const named = source.kind === 'bin' ? [source.path] : source.kind === 'files' ? source.files.map((f) => f.path) : [source.root];
      // prepareBin validates esp_secure_cert images itself (their own rules); PKI items are validated here.
      let prepared;
      try {
        for (const path of named) await within.checkName(path);
        prepared = await prepareBin(binSource, { validate: options.validate, within });
      } catch (error) {
        if (error instanceof PathNotAllowedError) throw pathNotAllowed(error);
        // Same findings, worded for the API instead of the command line.
        const errors = error instanceof InputError ? (error.details.errors as Finding[] | undefined) : undefined;
        if (errors && errors.length > 0) throw validationError(errors, (error as InputError).details.warnings as Finding[]);
        throw error;
      }
      const format = prepared.format;
      const warnings = [...prepared.notes, ...(prepared.validation?.warnings.map((finding) => finding.message) ?? [])];
      const credentials: Credentials = { bin: Buffer.from(prepared.bin), items: ownedItems(prepared.items), format };
      prepared.bin.fill(0);
      return { credentials, summary: summarize(credentials.bin, prepared.items.length, source.kind), warnings };
    }
  }
}

/** Validation findings: errors refuse the job (InputError listing them), warnings are returned. */
function validate(items: readonly PkiItem[]): string[] {
  const result = validatePkiItems(items);
  if (result.errors.length > 0) throw validationError(result.errors, result.warnings);
  return result.warnings.map((finding) => finding.message);
}

function validationError(errors: readonly Finding[], warnings: readonly Finding[]): InputError {
  const list = errors.map((e) => e.message).join('; ');
  const lead = errors.length === 1 ? 'validation failed' : `validation failed with ${errors.length} errors`;
  return new InputError(`${lead}: ${list} ("validate": false writes the bin anyway)`, { details: { errors, warnings } });
}

export function summarize(bin: Uint8Array, items: number, kind: JobSource['kind']): BinSummary {
  return { sha256: createHash('sha256').update(bin).digest('hex'), bytes: bin.length, items, source: kind };
}

/** File sources are read only from below a configured root, checked on each file as opened (FileRoots). */
function allowedFolders(roots: readonly string[]): FileRoots {
  if (roots.length === 0) {
    throw new RequestError(403, 'FILE_SOURCES_DISABLED', 'file sources are disabled on this daemon (set jobs.fileRoots in its config), send the bin inline instead');
  }
  return new FileRoots(roots);
}

function pathNotAllowed(error: PathNotAllowedError): RequestError {
  const { path, reason } = error;
  if (reason === 'relative') return new RequestError(400, 'BAD_INPUT', error.message, { path });
  return new RequestError(403, 'PATH_NOT_ALLOWED', reason === 'outside' ? `${path} is not below any of jobs.fileRoots` : error.message, { path });
}
