import { mkdir, mkdtemp, rm, truncate, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../../src/errors.js';
import {
  parseCredentialPairs,
  parsePartitionSize,
  readCredentialFile,
  readCredentialFiles,
  readPartitionDir,
} from '../../src/flash/credential-files.js';
import { fixture } from './paths.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'at-pki-credential-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('parseCredentialPairs', () => {
  it('splits <type> <file> pairs', () => {
    expect(parseCredentialPairs(['cert', 'a.crt', 'key', 'a.key'])).toEqual([
      { type: 'cert', path: 'a.crt' },
      { type: 'key', path: 'a.key' },
    ]);
  });

  it('refuses no pairs or an odd count (usage)', () => {
    expect(() => parseCredentialPairs([])).toThrow(UsageError);
    expect(() => parseCredentialPairs(['cert', 'a.crt', 'key'])).toThrow(/odd number of arguments \(last: 'key'\)/);
  });

  it('refuses unknown types', () => {
    expect(() => parseCredentialPairs(['pem', 'a.pem'])).toThrow(InputError);
  });
});

describe('readCredentialFile', () => {
  it('reads the file unchanged, with its path as source', async () => {
    const path = join(dir, 'device.crt');
    await writeFile(path, fixture('device.crt'));
    const item = await readCredentialFile({ type: 'cert', path });
    expect(item).toEqual({ type: 'cert', content: fixture('device.crt'), source: path });
  });

  it('reads several files in order', async () => {
    const a = join(dir, 'order-a');
    const b = join(dir, 'order-b');
    await writeFile(a, 'A');
    await writeFile(b, 'B');
    const items = await readCredentialFiles([
      { type: 'ca', path: b },
      { type: 'ca', path: a },
    ]);
    expect(items.map((item) => item.content.toString())).toEqual(['B', 'A']);
  });

  it('refuses a missing file', async () => {
    const error = await failure(readCredentialFile({ type: 'cert', path: join(dir, 'missing.crt') }));
    expect(error.message).toBe(`cannot read ${join(dir, 'missing.crt')}: no such file`);
  });

  it('refuses a directory', async () => {
    expect((await failure(readCredentialFile({ type: 'cert', path: dir }))).message).toBe(`${dir} is a directory, not a file`);
  });

  it('refuses an empty file', async () => {
    const path = join(dir, 'empty.key');
    await writeFile(path, '');
    expect((await failure(readCredentialFile({ type: 'key', path }))).message).toBe(`${path} is empty`);
  });

  it('takes 65,535 bytes and refuses 65,536', async () => {
    const path = join(dir, 'limit.crt');
    await writeFile(path, Buffer.alloc(65_535, 0x41));
    expect((await readCredentialFile({ type: 'cert', path })).content.length).toBe(65_535);
    await writeFile(path, Buffer.alloc(65_536, 0x41));
    expect((await failure(readCredentialFile({ type: 'cert', path }))).message).toMatch(/is 65536 bytes; a PKI bin item holds at most 65535 bytes/);
  });

  it('refuses a huge file from its size, without reading it', async () => {
    const path = join(dir, 'huge.bin');
    await writeFile(path, '');
    await truncate(path, 64 * 1024 ** 3); // sparse: 64 GiB that readFile could not even hold
    expect((await failure(readCredentialFile({ type: 'cert', path }))).message).toMatch(/is 68719476736 bytes/);
  });

});

describe('readPartitionDir (raw_data/<partition>/ convention)', () => {
  let root: string;
  beforeAll(async () => {
    root = join(dir, 'raw_data');
    await mkdir(join(root, 'client_cert'), { recursive: true });
    await writeFile(join(root, 'client_cert', 'b.crt'), 'B');
    await writeFile(join(root, 'client_cert', 'a.pem'), 'A');
    await writeFile(join(root, 'client_cert', 'c.der'), 'C');
    await writeFile(join(root, 'client_cert', 'README.md'), 'not a certificate');
    await writeFile(join(root, 'client_cert', '.DS_Store'), 'hidden');
    await mkdir(join(root, 'client_key'));
    await writeFile(join(root, 'client_key', 'device.key'), 'K');
    await writeFile(join(root, 'client_key', 'device.crt'), 'not a key file');
    await mkdir(join(root, 'client_ca'));
    await writeFile(join(root, 'client_ca', 'notes.txt'), 'x');
  });

  it('reads the files sorted by name, typed by the partition suffix', async () => {
    const found = await readPartitionDir(root, 'client_cert');
    expect(found.type).toBe('cert');
    expect(found.items.map((item) => [item.type, item.content.toString(), item.source])).toEqual([
      ['cert', 'A', join(root, 'client_cert', 'a.pem')],
      ['cert', 'B', join(root, 'client_cert', 'b.crt')],
      ['cert', 'C', join(root, 'client_cert', 'c.der')],
    ]);
    expect(found.ignored).toEqual(['README.md']);
  });

  it('takes the key extensions for a key partition', async () => {
    const found = await readPartitionDir(root, 'client_key');
    expect(found.items.map((item) => [item.type, item.content.toString()])).toEqual([['key', 'K']]);
    expect(found.ignored).toEqual(['device.crt']);
  });

  it('refuses a partition name without a type suffix, naming the suffixes', async () => {
    expect((await failure(readPartitionDir(root, 'factory_param'))).message).toMatch(/must end in _ca, _cert or _key/);
  });

  it('refuses a missing folder', async () => {
    expect((await failure(readPartitionDir(root, 'mqtt_ca'))).message).toBe(`cannot read ${join(root, 'mqtt_ca')}: no such folder`);
  });

  it('refuses a folder without usable files', async () => {
    expect((await failure(readPartitionDir(root, 'client_ca'))).message).toMatch(/no ca files in .*client_ca \(looked for \*\.pem, \*\.der, \*\.cer, \*\.crt\)/);
  });
});

describe('parsePartitionSize', () => {
  it.each([
    ['8192', 8192],
    ['0x2000', 8192],
    ['8K', 8192],
    ['4kib', 4096],
  ])('reads %s as %i bytes', (value, bytes) => {
    expect(parsePartitionSize(value)).toEqual({ bytes });
  });

  it('knows the default partitions', () => {
    expect(parsePartitionSize('client_cert')).toEqual({ bytes: 8192, partition: 'client_cert' });
    expect(parsePartitionSize('mqtt_key')).toEqual({ bytes: 8192, partition: 'mqtt_key' });
    expect(parsePartitionSize('factory_param')).toEqual({ bytes: 4096, partition: 'factory_param' });
  });

  it.each(['0', '-1', '8M', 'client', 'toString', '0x', ''])('refuses %j', (value) => {
    expect(() => parsePartitionSize(value)).toThrow(InputError);
  });
});
