/**
 * The one way at-pki reads a file of the host — the CLI's credential, bin and value files, the
 * daemon's file sources, config, token file and journal — so that no file can block or flood it:
 *
 * 1. The name is looked at first (stat; lstat with `noFollow`): anything but a regular file is refused
 *    without being opened (opening a serial device can reset the module on it).
 * 2. It is opened once, with O_NONBLOCK (a FIFO swapped in after the look cannot park the open, nor
 *    a thread of the pool the daemon's journal needs), O_NOCTTY, and O_NOFOLLOW with `noFollow`.
 * 3. fstat of that descriptor decides: a regular file, no larger than `maxBytes`, and with `within`
 *    below an allowed folder (FileRoots.confirm, on the descriptor).
 * 4. The bytes come from that descriptor only, at most `maxBytes` of them (size 0 as /proc reports
 *    it, or a file growing while read, cannot get more through).
 *
 * Every refusal is an InputError (exit 2, HTTP 400) naming the file and saying why in one line;
 * PathNotAllowedError (a kind of InputError) for files outside `within`.
 *
 * @example
 * const key = await readRegularFile('device.key', { maxBytes: 65535, tooLarge: 'a PKI bin item holds at most 65535 bytes' });
 * const bin = await readRegularFile(path, { maxBytes: 16 << 20, within: new FileRoots(['/srv/creds']), signal });
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { lstat, open, stat, type FileHandle } from 'node:fs/promises';
import { AtPkiError, InputError } from '../errors.js';
import { throwIfAborted } from '../transport/abortable.js';
import type { FileRoots } from './file-roots.js';

export interface OpenRegularFileOptions {
  /** Refuse a symbolic link as the last part of the path (O_NOFOLLOW); links in the folders above are followed. */
  noFollow?: boolean;
  /** Only a file that, as opened, lies below one of these folders (checked on the descriptor). */
  within?: FileRoots;
  signal?: AbortSignal;
  /** Open for appending, creating the file with this mode if it is missing (read access too): the journal. */
  appendMode?: number;
}

export interface ReadLimits {
  /** Refuse larger files: from fstat before reading, and while reading. */
  maxBytes: number;
  /** Why, for the message: `a PKI bin item holds at most 65535 bytes`. @default `at most <maxBytes> bytes are read` */
  tooLarge?: string;
  signal?: AbortSignal;
}

export interface ReadRegularFileOptions extends OpenRegularFileOptions, ReadLimits {}

/** An open regular file: its descriptor, its fstat, and its name for messages. Close `handle` when done. */
export interface OpenedFile {
  handle: FileHandle;
  stats: Stats;
  display: string;
}

/** Read a whole regular file (see the module comment for every check made). */
export async function readRegularFile(path: string, options: ReadRegularFileOptions): Promise<Buffer> {
  const file = await openRegularFile(path, options);
  try {
    return await readOpenedFile(file, options);
  } finally {
    await file.handle.close().catch(() => {});
  }
}

/** Open a regular file for reading (or appending, with `appendMode`), checked as described above. */
export async function openRegularFile(path: string, options: OpenRegularFileOptions = {}): Promise<OpenedFile> {
  if (options.within) await options.within.checkName(path);
  return openChecked(path, path, options);
}

/**
 * openRegularFile with the name for messages given apart from the path opened (entries of a folder
 * held open are opened as `/proc/self/fd/N/<name>`). Not exported beyond the flash layer's file code.
 */
export async function openChecked(path: string, display: string, options: OpenRegularFileOptions): Promise<OpenedFile> {
  throwIfAborted(options.signal, `opening ${display}`);
  const creating = options.appendMode !== undefined;
  await options.within?.checkTarget(path, display);
  try {
    refuseKind(display, await (options.noFollow ? lstat(path) : stat(path)), options.noFollow);
  } catch (error) {
    if (!(creating && (error as { code?: unknown }).code === 'ENOENT')) throw fileError(error, display, options.noFollow);
  }
  let handle: FileHandle;
  try {
    handle = await open(path, openFlags(options), options.appendMode);
  } catch (error) {
    throw fileError(error, display, options.noFollow);
  }
  try {
    const stats = await handle.stat();
    refuseKind(display, stats, false);
    await options.within?.confirm(handle.fd, stats, display);
    return { handle, stats, display };
  } catch (error) {
    await handle.close().catch(() => {});
    throw fileError(error, display, options.noFollow);
  }
}

/** Read everything from an open file (from its start), at most `maxBytes`. */
export async function readOpenedFile(file: OpenedFile, limits: ReadLimits): Promise<Buffer> {
  const { handle, stats, display } = file;
  if (stats.size > limits.maxBytes) throw tooLarge(display, stats.size, limits);
  const reader = new BoundedReader(stats.size, limits.maxBytes);
  try {
    for (;;) {
      throwIfAborted(limits.signal, `reading ${display}`);
      const target = reader.space();
      const { bytesRead } = await handle.read(target.buffer, target.offset, target.length, reader.length);
      if (bytesRead === 0) return reader.done();
      if (reader.advance(bytesRead)) throw tooLarge(display, undefined, limits);
    }
  } catch (error) {
    reader.wipe();
    throw fileError(error, display, false);
  }
}

/** readRegularFile for the few places that must stay synchronous (config parsing, the package version). No `within`. */
export function readRegularFileSync(path: string, options: Omit<ReadRegularFileOptions, 'within' | 'appendMode' | 'signal'>): Buffer {
  let fd: number;
  try {
    refuseKind(path, options.noFollow ? lstatSync(path) : statSync(path), options.noFollow);
    fd = openSync(path, openFlags(options));
  } catch (error) {
    throw fileError(error, path, options.noFollow);
  }
  const reader = new BoundedReader(0, options.maxBytes);
  try {
    const stats = fstatSync(fd);
    refuseKind(path, stats, false);
    if (stats.size > options.maxBytes) throw tooLarge(path, stats.size, options);
    for (;;) {
      const target = reader.space();
      const bytesRead = readSync(fd, target.buffer, target.offset, target.length, reader.length);
      if (bytesRead === 0) return reader.done();
      if (reader.advance(bytesRead)) throw tooLarge(path, undefined, options);
    }
  } catch (error) {
    reader.wipe();
    throw fileError(error, path, false);
  } finally {
    closeSync(fd);
  }
}

function openFlags(options: OpenRegularFileOptions): number {
  const access = options.appendMode !== undefined ? constants.O_RDWR | constants.O_APPEND | constants.O_CREAT : constants.O_RDONLY;
  return access | constants.O_NONBLOCK | constants.O_NOCTTY | (options.noFollow ? constants.O_NOFOLLOW : 0);
}

/** Collects up to `maxBytes` + 1 bytes (one more than allowed tells a file that is too large). */
class BoundedReader {
  #buffer: Buffer;
  #length = 0;
  readonly #cap: number;

  constructor(expected: number, maxBytes: number) {
    this.#cap = maxBytes + 1;
    this.#buffer = Buffer.alloc(Math.min(Math.max(expected + 1, 4096), this.#cap));
  }

  get length(): number {
    return this.#length;
  }

  /** Where the next read goes (growing the buffer when full). */
  space(): { buffer: Buffer; offset: number; length: number } {
    if (this.#length === this.#buffer.length) {
      const bigger = Buffer.alloc(Math.min(this.#buffer.length * 2, this.#cap));
      this.#buffer.copy(bigger);
      this.#buffer.fill(0);
      this.#buffer = bigger;
    }
    return { buffer: this.#buffer, offset: this.#length, length: this.#buffer.length - this.#length };
  }

  /** Count bytes read; true once more than maxBytes came. */
  advance(bytes: number): boolean {
    this.#length += bytes;
    return this.#length >= this.#cap;
  }

  done(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  /** Zero what was read (it may be a key). */
  wipe(): void {
    this.#buffer.fill(0);
  }
}

/** Refuse anything but a regular file, saying what it is instead. */
function refuseKind(path: string, stats: Stats, noFollow: boolean | undefined): void {
  if (stats.isFile()) return;
  if (stats.isDirectory()) throw new InputError(`${path} is a directory, not a file`, { details: { path } });
  if (stats.isSymbolicLink()) throw symlinkRefused(path);
  const kind = stats.isFIFO()
    ? 'a FIFO (named pipe)'
    : stats.isCharacterDevice()
      ? 'a character device'
      : stats.isBlockDevice()
        ? 'a block device'
        : stats.isSocket()
          ? 'a socket'
          : 'a special file';
  throw new InputError(`${path} is ${kind}, not a regular file`, { details: { path, noFollow: noFollow ?? false } });
}

function symlinkRefused(path: string): InputError {
  return new InputError(`${path} is a symbolic link, which is not followed here`, { details: { path } });
}

function tooLarge(path: string, size: number | undefined, limits: Pick<ReadLimits, 'maxBytes' | 'tooLarge'>): InputError {
  const reason = limits.tooLarge ?? `at most ${limits.maxBytes} bytes are read`;
  if (size === undefined) return new InputError(`${path} is more than ${limits.maxBytes} bytes; ${reason}`, { details: { path } });
  return new InputError(`${path} is ${size} bytes; ${reason}`, { details: { path, size } });
}

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a parent of it is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EAGAIN: 'reading it would block',
  ENXIO: 'no such device',
};

/** A file-system failure as an InputError naming the path (our own errors pass through). */
export function fileError(error: unknown, path: string, noFollow: boolean | undefined): Error {
  if (error instanceof AtPkiError) return error;
  const code = (error as { code?: unknown }).code;
  if (noFollow && code === 'ELOOP') return symlinkRefused(path);
  const reason = typeof code === 'string' ? (FILE_ERRORS[code] ?? code) : String(error);
  return new InputError(`cannot read ${path}: ${reason}`, { cause: error, details: { path, ...(typeof code === 'string' ? { errno: code } : {}) } });
}
