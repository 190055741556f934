/**
 * Write a file so that readers see either the old content or the whole new content, never a part:
 * write a temporary file next to it, flush it, rename it over the target.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';

export interface WriteFileAtomicOptions {
  /** Permission bits of a newly created file. @default 0o644 */
  mode?: number;
}

/** Codes that mean the path itself is wrong, i.e. bad input rather than a failing disk. */
const PATH_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such folder',
  ENOTDIR: 'a parent of it is not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
};

export async function writeFileAtomic(path: string, data: Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && Object.hasOwn(PATH_ERRORS, code)) {
      throw new InputError(`cannot write ${path}: ${PATH_ERRORS[code]}`, { cause: error, details: { path, errno: code } });
    }
    throw error;
  }
}
