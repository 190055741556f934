import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerPassword, parsePostgresUrl, redactLedgerUrl } from '../../../src/station/ledger/postgres-url.js';

describe('parsePostgresUrl', () => {
  it.each([
    ['postgres://atpki@db.factory/ledger', { host: 'db.factory', user: 'atpki', database: 'ledger' }],
    ['postgresql://atpki@db.factory:5433/ledger?sslmode=require', { host: 'db.factory', port: 5433, user: 'atpki', database: 'ledger', ssl: { rejectUnauthorized: false } }],
    ['postgres://atpki@/ledger?host=%2Frun%2Fpostgresql', { host: '/run/postgresql', user: 'atpki', database: 'ledger' }],
    ['postgres:///ledger?host=/tmp/pg&user=line2&application_name=bay', { host: '/tmp/pg', user: 'line2', database: 'ledger', applicationName: 'bay' }],
    ['postgres://u@[::1]:6000/d?sslmode=verify-full', { host: '::1', port: 6000, user: 'u', database: 'd', ssl: { rejectUnauthorized: true } }],
  ])('%s', (url, expected) => {
    expect(parsePostgresUrl(url)).toEqual({ ...expected, display: url });
  });

  it.each([
    ['postgres://u:secret@h/d', /^the ledger URL carries a password: remove it from the URL/],
    ['postgres://u:@h/d', /carries a password/],
    ['postgres://u@h/d?password=secret', /password parameter/],
    ['postgres://u@h:99999/d', /not a port number/],
    ['postgres://u@h1,h2/d', /several hosts/],
    ['postgres://u@h/d?sslcert=x', /unknown parameter 'sslcert'/],
    ['postgres://u@h/d?sslmode=sometimes', /sslmode 'sometimes'/],
  ])('refuses %s without echoing a password', (url, message) => {
    let error: unknown;
    try {
      parsePostgresUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'BAD_INPUT', message });
    expect(JSON.stringify({ message: (error as Error).message, details: (error as { details: unknown }).details })).not.toContain('secret');
  });
});

describe('redactLedgerUrl', () => {
  it('hides passwords in URLs and parameters', () => {
    expect(redactLedgerUrl('postgres://u:secret@h/d and postgresql://v:x%40y@h2/d?password=z&sslmode=require')).toBe(
      'postgres://u:***@h/d and postgresql://v:***@h2/d?password=***&sslmode=require',
    );
    expect(redactLedgerUrl('postgres://u@h/d')).toBe('postgres://u@h/d');
  });
});

describe('ledgerPassword', () => {
  it('takes the file first, then AT_PKI_LEDGER_PASSWORD, then PGPASSWORD', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atpki-pw-'));
    try {
      const file = join(dir, 'pw');
      writeFileSync(file, 'from-file\nignored\n');
      const env = { AT_PKI_LEDGER_PASSWORD: 'from-env', PGPASSWORD: 'from-pg' };
      expect(ledgerPassword({ passwordFile: file, env })).toBe('from-file');
      expect(ledgerPassword({ env })).toBe('from-env');
      expect(ledgerPassword({ env: { PGPASSWORD: 'from-pg' } })).toBe('from-pg');
      expect(ledgerPassword({ env: {} })).toBeUndefined();
      writeFileSync(file, '\n');
      expect(() => ledgerPassword({ passwordFile: file, env })).toThrow(/is empty/);
      expect(() => ledgerPassword({ passwordFile: join(dir, 'missing'), env })).toThrow(/cannot read the ledger password file .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
