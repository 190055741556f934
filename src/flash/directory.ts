/**
 * A folder whose files are read one by one with readRegularFile's checks. With `within` (allowed
 * folders) the folder is held open and its entries are opened through that descriptor
 * (`/proc/self/fd/N/<name>`, what openat() does), and each entry, as opened, is confirmed to lie
 * below an allowed folder too: swapping the folder's path or an entry for a link after the check
 * changes nothing about what is read.
 *
 * @example
 * const dir = await openDirectory('/srv/creds/set1/client_cert', { within: roots, signal });
 * try {
 *   for (const name of await dir.names()) items.push(await dir.readFile(name, { maxBytes: 65535 }));
 * } finally {
 *   await dir.close();
 * }
 */
import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AtPkiError, InputError } from '../errors.js';
import { throwIfAborted } from '../transport/abortable.js';
import type { FileRoots } from './file-roots.js';
import { openChecked, readOpenedFile, type ReadLimits } from './regular-file.js';

export interface DirectoryOptions {
  /** Only a folder (and files in it) that, as opened, lie below one of these folders. */
  within?: FileRoots;
  signal?: AbortSignal;
}

export interface EntryReadOptions extends ReadLimits {
  /** Refuse an entry that is a symbolic link (even to a file below an allowed folder). */
  noFollow?: boolean;
}

/** Open a folder (with `within`: checked and held open; without: by path, as the CLI reads raw_data folders). */
export async function openDirectory(path: string, options: DirectoryOptions = {}): Promise<Directory> {
  throwIfAborted(options.signal, `opening ${path}`);
  if (!options.within) return new Directory(path, path, undefined, undefined);
  await options.within.checkName(path);
  return openHeld(path, path, options.within);
}

export class Directory {
  /** The folder's name as given (for messages). */
  readonly path: string;
  /** What entries are opened relative to: the path itself, or the held descriptor's /proc entry. */
  readonly #base: string;
  readonly #handle: FileHandle | undefined;
  readonly #within: FileRoots | undefined;

  constructor(path: string, base: string, handle: FileHandle | undefined, within: FileRoots | undefined) {
    this.path = path;
    this.#base = base;
    this.#handle = handle;
    this.#within = within;
  }

  /** The entries' names, sorted (no `.` and `..`). InputError if the folder is missing or not a folder. */
  async names(): Promise<string[]> {
    try {
      return (await readdir(this.#base)).sort();
    } catch (error) {
      throw folderError(error, this.path);
    }
  }

  /** Read a regular file of this folder (readRegularFile's checks; `within` confirmed on the entry). */
  async readFile(name: string, options: EntryReadOptions): Promise<Buffer> {
    checkEntryName(name, this.path);
    const file = await openChecked(`${this.#base}/${name}`, join(this.path, name), { noFollow: options.noFollow, within: this.#within, signal: options.signal });
    try {
      return await readOpenedFile(file, options);
    } finally {
      await file.handle.close().catch(() => {});
    }
  }

  /** A sub-folder, opened relative to this one (and held open and confirmed, with `within`). */
  async openDirectory(name: string): Promise<Directory> {
    checkEntryName(name, this.path);
    const display = join(this.path, name);
    if (!this.#within) return new Directory(display, display, undefined, undefined);
    return openHeld(`${this.#base}/${name}`, display, this.#within);
  }

  async close(): Promise<void> {
    await this.#handle?.close().catch(() => {});
  }
}

async function openHeld(path: string, display: string, within: FileRoots): Promise<Directory> {
  await within.checkTarget(path, display);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
  } catch (error) {
    throw folderError(error, display);
  }
  try {
    await within.confirm(handle.fd, await handle.stat(), display);
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
  return new Directory(display, `/proc/self/fd/${handle.fd}`, handle, within);
}

function checkEntryName(name: string, dir: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new InputError(`${JSON.stringify(name.slice(0, 40))} is not a file name in ${dir}`, { details: { path: dir } });
  }
}

function folderError(error: unknown, path: string): Error {
  if (error instanceof AtPkiError) return error;
  const code = (error as { code?: unknown }).code;
  const reason =
    code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : typeof code === 'string' ? code : String(error);
  return new InputError(`cannot read ${path}: ${reason}`, { cause: error, details: { path } });
}
