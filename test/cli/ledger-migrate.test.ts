/**
 * `at-pki ledger migrate` against a real PostgreSQL (a throwaway cluster): it creates the schema in
 * an empty database, says so again when there is nothing to do, takes the password only from the
 * environment or a file, and refuses a URL that carries one without echoing it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { POSTGRES_SCHEMA_VERSION } from '../../src/station/ledger/postgres-ledger.js';
import { describePostgres } from '../support/postgres.js';
import { tempDir } from '../station/support.js';
import { endRecord, ensureBuilt, expectOneLineError, runCliAsync } from './harness.js';

beforeAll(() => ensureBuilt(), 300_000);

const noPassword = { AT_PKI_LEDGER_PASSWORD: '', PGPASSWORD: '' };

describePostgres('at-pki ledger migrate', (server) => {
  it('migrates an empty database to the current schema, then has nothing to do', async () => {
    const url = await server.database();
    const env = { ...noPassword, AT_PKI_LEDGER_PASSWORD: server.cluster().password };
    const first = await runCliAsync(['ledger', 'migrate', '--ledger', url, '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(endRecord(first)).toEqual({ type: 'end', ok: true, result: { backend: 'postgres', ledger: url, from: 0, to: POSTGRES_SCHEMA_VERSION, migrated: POSTGRES_SCHEMA_VERSION } });
    const again = await runCliAsync(['ledger', 'migrate', '--ledger', url], { env });
    expect(again).toMatchObject({ code: 0, stdout: `${url}: schema already at version ${POSTGRES_SCHEMA_VERSION}\n` });
  });

  it('reads the password from --ledger-password-file', async () => {
    const url = await server.database();
    const dir = tempDir('pgcli');
    try {
      const file = join(dir.path, 'pw');
      writeFileSync(file, `${server.cluster().password}\n`, { mode: 0o600 });
      const run = await runCliAsync(['ledger', 'migrate', '--ledger', url, '--ledger-password-file', file], { env: noPassword });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`${url}: schema migrated from version 0 to ${POSTGRES_SCHEMA_VERSION}\n`);
    } finally {
      dir.remove();
    }
  });

  it('refuses a URL with a password (exit 2, not echoed), a wrong password (exit 2) and a server that is not there (exit 1)', async () => {
    const url = await server.database();
    const password = server.cluster().password;
    const inUrl = await runCliAsync(['ledger', 'migrate', '--ledger', url.replace('atpki@', `atpki:${password}@`)], { env: noPassword });
    expectOneLineError(inUrl, 2, 'the ledger URL carries a password');
    expect(inUrl.stderr + inUrl.stdout).not.toContain(password);
    const wrong = await runCliAsync(['ledger', 'migrate', '--ledger', url], { env: { ...noPassword, AT_PKI_LEDGER_PASSWORD: 'not-it' } });
    expectOneLineError(wrong, 2, 'refused the login');
    const dir = tempDir('pgcli');
    try {
      const away = await runCliAsync(['ledger', 'migrate', '--ledger', `postgres://atpki@/x?host=${dir.path}`, '--json'], { env: noPassword });
      expect(away.code).toBe(1);
      expect(endRecord(away)).toMatchObject({ ok: false, error: { code: 'LEDGER_UNAVAILABLE' } });
    } finally {
      dir.remove();
    }
  });
});
