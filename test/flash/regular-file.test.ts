/**
 * The file-reading primitive (src/flash/regular-file.ts, directory.ts, file-roots.ts): regular files
 * only, nothing that can block (FIFOs, devices) is read, sizes are bounded before and while reading,
 * and with allowed folders what is read is what was opened below them — links out are refused, by
 * name or swapped in later.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { openDirectory } from '../../src/flash/directory.js';
import { FileRoots, PathNotAllowedError } from '../../src/flash/file-roots.js';
import { readRegularFile, readRegularFileSync } from '../../src/flash/regular-file.js';
import { Journal } from '../../src/station/journal.js';

let dir: string;
let allowed: string;
const at = (...parts: string[]): string => join(dir, ...parts);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'atpki-regular-'));
  allowed = at('allowed');
  mkdirSync(at('allowed/sub'), { recursive: true });
  mkdirSync(at('outside'));
  writeFileSync(at('allowed/a.txt'), 'inside');
  writeFileSync(at('allowed/sub/b.txt'), 'inside too');
  writeFileSync(at('outside/secret.txt'), 'outside');
  symlinkSync(at('outside/secret.txt'), at('allowed/out.txt'));
  symlinkSync(at('allowed/a.txt'), at('allowed/in.txt'));
  symlinkSync(at('outside'), at('allowed/outdir'));
  execFileSync('mkfifo', [at('allowed/fifo.txt')]);
  writeFileSync(at('big.bin'), '');
  truncateSync(at('big.bin'), 1 << 30); // sparse: nothing is allocated, nothing may be read
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(work: Promise<unknown>): Promise<InputError> {
  const error = await work.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).not.toMatch(/[\r\n]/);
  return error as InputError;
}

describe('readRegularFile', () => {
  it('reads a regular file', async () => {
    expect((await readRegularFile(at('allowed/a.txt'), { maxBytes: 100 })).toString()).toBe('inside');
    expect(readRegularFileSync(at('allowed/a.txt'), { maxBytes: 100 }).toString()).toBe('inside');
  });

  it('refuses a FIFO without waiting for a writer (async and sync)', async () => {
    expect((await refusal(readRegularFile(at('allowed/fifo.txt'), { maxBytes: 100 }))).message).toBe(`${at('allowed/fifo.txt')} is a FIFO (named pipe), not a regular file`);
    expect(() => readRegularFileSync(at('allowed/fifo.txt'), { maxBytes: 100 })).toThrow(/is a FIFO \(named pipe\), not a regular file/);
  });

  it('refuses /dev/zero and /dev/null (character devices), a directory, a missing file', async () => {
    expect((await refusal(readRegularFile('/dev/zero', { maxBytes: 100 }))).message).toBe('/dev/zero is a character device, not a regular file');
    expect((await refusal(readRegularFile('/dev/null', { maxBytes: 100 }))).message).toMatch(/character device/);
    expect((await refusal(readRegularFile(dir, { maxBytes: 100 }))).message).toBe(`${dir} is a directory, not a file`);
    expect((await refusal(readRegularFile(at('none'), { maxBytes: 100 }))).message).toBe(`cannot read ${at('none')}: no such file`);
  });

  it('refuses a file over the limit from its size, before reading (a 1 GiB sparse file)', async () => {
    const error = await refusal(readRegularFile(at('big.bin'), { maxBytes: 1024, tooLarge: 'that is too much' }));
    expect(error.message).toBe(`${at('big.bin')} is 1073741824 bytes; that is too much`);
  });

  it('bounds what it reads from a file whose size says 0 (/proc)', async () => {
    const status = await readRegularFile('/proc/self/status', { maxBytes: 1 << 20 });
    expect(status.toString()).toMatch(/^Name:/);
    expect((await refusal(readRegularFile('/proc/self/status', { maxBytes: 16 }))).message).toMatch(/status is more than 16 bytes/);
  });

  it('with noFollow refuses a symbolic link', async () => {
    expect((await refusal(readRegularFile(at('allowed/in.txt'), { maxBytes: 100, noFollow: true }))).message).toBe(
      `${at('allowed/in.txt')} is a symbolic link, which is not followed here`,
    );
  });

  it('honours an aborted signal', async () => {
    await expect(readRegularFile(at('allowed/a.txt'), { maxBytes: 100, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('within allowed folders (FileRoots)', () => {
  const roots = (): FileRoots => new FileRoots([allowed]);

  it('reads files below a root, through links that stay below it', async () => {
    expect((await readRegularFile(at('allowed/in.txt'), { maxBytes: 100, within: roots() })).toString()).toBe('inside');
  });

  it('refuses a link out of the root, a path out by name, and a relative path', async () => {
    expect(await refusal(readRegularFile(at('allowed/out.txt'), { maxBytes: 100, within: roots() }))).toBeInstanceOf(PathNotAllowedError);
    expect(await refusal(readRegularFile(`${allowed}/../outside/secret.txt`, { maxBytes: 100, within: roots() }))).toMatchObject({ reason: 'outside' });
    expect(await refusal(readRegularFile('allowed/a.txt', { maxBytes: 100, within: roots() }))).toMatchObject({ reason: 'relative' });
  });

  it('a folder held open: its entries are read, a link out is refused, a folder link out is refused', async () => {
    const sub = await openDirectory(at('allowed/sub'), { within: roots() });
    try {
      expect(await sub.names()).toEqual(['b.txt']);
      expect((await sub.readFile('b.txt', { maxBytes: 100 })).toString()).toBe('inside too');
    } finally {
      await sub.close();
    }
    const top = await openDirectory(allowed, { within: roots() });
    try {
      expect(await refusal(top.readFile('out.txt', { maxBytes: 100 }))).toBeInstanceOf(PathNotAllowedError);
      expect((await refusal(top.readFile('fifo.txt', { maxBytes: 100 }))).message).toMatch(/FIFO/);
      expect(await refusal(top.openDirectory('outdir'))).toBeInstanceOf(PathNotAllowedError);
      expect(await refusal(top.readFile('../outside/secret.txt', { maxBytes: 100 }))).toBeInstanceOf(InputError);
    } finally {
      await top.close();
    }
    expect(await refusal(openDirectory(at('allowed/outdir'), { within: roots() }))).toBeInstanceOf(PathNotAllowedError);
  });

  it('reads what was opened even when the folder is renamed and replaced by a link out afterwards', async () => {
    mkdirSync(at('allowed/moving'));
    writeFileSync(at('allowed/moving/x.txt'), 'the real one');
    const held = await openDirectory(at('allowed/moving'), { within: roots() });
    try {
      execFileSync('mv', [at('allowed/moving'), at('allowed/moved')]);
      mkdirSync(at('outside/moving'));
      writeFileSync(at('outside/moving/x.txt'), 'outside');
      symlinkSync(at('outside/moving'), at('allowed/moving'));
      expect((await held.readFile('x.txt', { maxBytes: 100 })).toString()).toBe('the real one');
    } finally {
      await held.close();
    }
  });
});

describe('the journal', () => {
  it('refuses a FIFO as its file instead of blocking the daemon start', async () => {
    execFileSync('mkfifo', [at('journal.fifo')]);
    expect((await refusal(Journal.open(at('journal.fifo')))).message).toMatch(/journal\.fifo is a FIFO \(named pipe\), not a regular file/);
  });
});

describe('a link out to a special file', () => {
  it('is refused as outside, without the outside file being opened or its kind named', async () => {
    symlinkSync('/dev/zero', at('allowed/zero.txt'));
    const error = await refusal(readRegularFile(at('allowed/zero.txt'), { maxBytes: 100, within: new FileRoots([allowed]) }));
    expect(error).toBeInstanceOf(PathNotAllowedError);
    expect(error.message).not.toMatch(/device/);
  });
});

describe('FileRoots.confirm (the check on the descriptor, whatever the name said)', () => {
  it('accepts a descriptor of a file below a root; refuses one outside, and one whose file was deleted', async () => {
    const roots = new FileRoots([allowed]);
    const inside = await open(at('allowed/a.txt'), 'r');
    const outside = await open(at('outside/secret.txt'), 'r');
    writeFileSync(at('allowed/gone.txt'), 'soon gone');
    const gone = await open(at('allowed/gone.txt'), 'r');
    rmSync(at('allowed/gone.txt'));
    try {
      await roots.confirm(inside.fd, await inside.stat(), 'a.txt');
      expect(await refusal(roots.confirm(outside.fd, await outside.stat(), 'secret.txt'))).toMatchObject({ reason: 'outside' });
      expect(await refusal(roots.confirm(gone.fd, await gone.stat(), 'gone.txt'))).toMatchObject({ reason: 'outside' });
    } finally {
      await Promise.all([inside.close(), outside.close(), gone.close()]);
    }
  });
});
