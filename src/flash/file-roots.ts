/**
 * Folders files may be read from (the daemon's `jobs.fileRoots`), checked on what was opened rather
 * than on its name: a name can change between a check and an open (a symbolic link swapped in), an
 * open descriptor cannot. Linux says where an open descriptor's file lives (`/proc/self/fd/N`); it
 * must lie below the real path of a root, and that path must still name the same file (device and
 * inode). Where the system cannot tell, nothing is read.
 */
import type { Stats } from 'node:fs';
import { readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';

/** A file outside every allowed folder, given by a relative path, or whose place cannot be told. Exit 2; the daemon answers 403. */
export class PathNotAllowedError extends InputError {
  constructor(
    readonly path: string,
    readonly reason: 'outside' | 'relative' | 'unknowable',
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause, details: { path } });
  }
}

export class FileRoots {
  /** The folders as configured (absolute). */
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((root) => resolve(root));
  }

  /**
   * The quick refusal, by name alone (`..` resolved, nothing opened): `path` must be absolute and
   * below a root as configured or as resolved. Passing it proves nothing; {@link confirm} decides.
   */
  async checkName(path: string): Promise<void> {
    if (!isAbsolute(path)) throw new PathNotAllowedError(path, 'relative', `file paths must be absolute: '${path}'`);
    const target = resolve(path);
    const candidates = [...this.roots, ...(await this.#realRoots())];
    if (!candidates.some((root) => isBelow(target, root))) throw notAllowed(path);
  }

  /**
   * The early look, before anything is opened: where the path leads now (links resolved) must be
   * below a root, so a link out never gets a device or FIFO outside opened, nor its kind named.
   * A path that does not resolve passes (opening it reports why). {@link confirm} still decides.
   */
  async checkTarget(path: string, display: string): Promise<void> {
    let target: string;
    try {
      target = await realpath(path);
    } catch {
      return;
    }
    if (!(await this.#realRoots()).some((root) => isBelow(target, root))) throw notAllowed(display);
  }

  /**
   * Is the file open on `fd` (whose fstat is `stats`) below a root? Where the kernel says it lies
   * must be below a root's real path and, looked up again, be the very same file (device, inode).
   */
  async confirm(fd: number, stats: Stats, display: string): Promise<void> {
    let where: string;
    try {
      where = await readlink(`/proc/self/fd/${fd}`);
    } catch (error) {
      throw new PathNotAllowedError(display, 'unknowable', `cannot tell where ${display} lies (this system has no /proc/self/fd), so it is not read`, error);
    }
    const roots = await this.#realRoots();
    if (!isAbsolute(where) || !roots.some((root) => isBelow(where, root))) throw notAllowed(display);
    let now: Stats;
    try {
      now = await stat(where);
    } catch {
      throw notAllowed(display); // deleted or moved away since it was opened
    }
    if (now.dev !== stats.dev || now.ino !== stats.ino) throw notAllowed(display);
  }

  /** Real paths of the roots that exist now (a root may be a link to the real folder). */
  async #realRoots(): Promise<string[]> {
    const found = await Promise.all(this.roots.map((root) => realpath(root).catch(() => undefined)));
    return found.filter((root): root is string => root !== undefined);
  }
}

function notAllowed(path: string): PathNotAllowedError {
  return new PathNotAllowedError(path, 'outside', `${path} is not below any of the allowed folders`);
}

/** `path` is `root` or inside it (both absolute and normalised). */
export function isBelow(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
