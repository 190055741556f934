/**
 * A file the user may not read. Tests run as root on CI, where chmod 000 does not stop reading, so
 * the file system answers EACCES here the way it does for an ordinary user.
 */
import { describe, expect, it, vi } from 'vitest';
import { readCredentialFile } from '../../src/flash/credential-files.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const denied = (path: unknown): boolean => String(path).endsWith('secret.key');
  const eacces = (path: unknown): Error => Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), { code: 'EACCES' });
  return {
    ...actual,
    stat: async (path: Parameters<typeof actual.stat>[0]) => (denied(path) ? { isFile: () => true, size: 1 } : actual.stat(path)),
    open: async (...args: Parameters<typeof actual.open>) => {
      if (denied(args[0])) throw eacces(args[0]);
      return actual.open(...args);
    },
  };
});

describe('readCredentialFile', () => {
  it('refuses an unreadable file with a one-line reason', async () => {
    const error = await readCredentialFile({ type: 'key', path: '/keys/secret.key' }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('cannot read /keys/secret.key: permission denied');
  });
});
