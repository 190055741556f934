/**
 * The PostgreSQL ledger against a real server (a throwaway cluster on a unix socket): the shared
 * contract, plus what is PostgreSQL's own: versioned migrations checked at open, UNIQUE constraints
 * and the append-only log holding against direct SQL, several connections claiming at once, the
 * password never in the URL, and an unreachable server reported as such.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION, PostgresLedger } from '../../../src/station/ledger/postgres-ledger.js';
import { describePostgres } from '../../support/postgres.js';
import { tempDir } from '../support.js';
import { describeLedgerContract, fakeDevice, fakeSet } from './ledger-contract.js';

const ctx = { station: 's', actor: 't' };

describePostgres('PostgresLedger', (server) => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function sql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
    const client = new pg.Client({ host: server.cluster().dir, user: 'atpki', password: server.cluster().password, database: /\/([^/?]+)\?/.exec(url)![1] });
    await client.connect();
    try {
      return await client.query(text, params);
    } finally {
      await client.end();
    }
  }

  async function fresh(): Promise<{ url: string; ledger: PostgresLedger }> {
    const url = await server.database();
    const ledger = await PostgresLedger.open(url, { password: server.cluster().password });
    cleanups.push(() => ledger.close());
    return { url, ledger };
  }

  describeLedgerContract('postgres', async () => {
    const url = await server.database();
    const ledger = await openLedger(url, { password: server.cluster().password });
    return { ledger, close: () => ledger.close() };
  });

  it('gives an empty database the current schema at first open, and reopens it as it is', async () => {
    const { url, ledger } = await fresh();
    expect(ledger.backend).toBe('postgres');
    expect(ledger.location).toBe(url);
    const versions = await sql(url, 'SELECT version FROM at_pki_schema ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    const again = await PostgresLedger.open(url, { password: server.cluster().password });
    await again.close();
    expect((await sql(url, 'SELECT count(*)::int AS n FROM at_pki_schema')).rows[0].n).toBe(POSTGRES_SCHEMA_VERSION);
  });

  it('refuses a database at an older schema until `ledger migrate` brings it up; refuses a newer one', async () => {
    const url = await server.database();
    await sql(url, `CREATE TABLE at_pki_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    await sql(url, POSTGRES_MIGRATIONS[0]!);
    await sql(url, `INSERT INTO at_pki_schema (version) VALUES (1)`);
    const password = server.cluster().password;
    await expect(PostgresLedger.open(url, { password })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `the ledger ${url} has schema version 1; this at-pki needs ${POSTGRES_SCHEMA_VERSION}: run at-pki ledger migrate --ledger ${url} (stop the stations first)`,
    });
    expect(await PostgresLedger.migrate(url, { password })).toEqual({ from: 1, to: POSTGRES_SCHEMA_VERSION });
    expect(await PostgresLedger.migrate(url, { password })).toEqual({ from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION });
    const ledger = await PostgresLedger.open(url, { password });
    await ledger.close();
    await sql(url, `INSERT INTO at_pki_schema (version) VALUES ($1)`, [POSTGRES_SCHEMA_VERSION + 1]);
    await expect(PostgresLedger.open(url, { password })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('use a newer at-pki') });
    await expect(PostgresLedger.migrate(url, { password })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('use a newer at-pki') });
  });

  it('does not take over a database holding tables of someone else', async () => {
    const url = await server.database();
    await sql(url, `CREATE TABLE devices (id int)`);
    const password = server.cluster().password;
    await expect(PostgresLedger.migrate(url, { password })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('not an at-pki ledger') });
    await expect(PostgresLedger.open(url, { password })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('schema version 0') });
  });

  it('UNIQUE constraints and the append-only trigger hold against direct SQL', async () => {
    const { url, ledger } = await fresh();
    await ledger.importBatch({ name: 'b', kind: 'sets', source: '/b' }, [fakeSet('s0'), fakeSet('s1')], ctx);
    for (const i of [1, 2]) await ledger.recordDevice(fakeDevice(i), ctx);
    const claim = await ledger.claim({ batch: 'b', device: fakeDevice(1).mac }, ctx);
    if (claim.kind === 'exhausted') throw new Error('unreachable');
    const setId = claim.assignment.set.id;
    const insert = `INSERT INTO assignments (set_id, batch_id, device, state, current, station, created_at, updated_at) SELECT $1, batch_id, $2, 'reserved', true, 's', now(), now() FROM sets WHERE id = $1`;
    await expect(sql(url, insert, [setId, fakeDevice(2).mac])).rejects.toMatchObject({ code: '23505', constraint: 'assignments_set_id_key' });
    const otherSet = (await sql(url, `SELECT id FROM sets WHERE id <> $1`, [setId])).rows[0].id;
    await expect(sql(url, insert, [otherSet, fakeDevice(1).mac])).rejects.toMatchObject({ code: '23505', constraint: 'assignments_one_current' });
    await expect(sql(url, `UPDATE events SET kind = 'x'`)).rejects.toThrow(/append-only/);
    await expect(sql(url, `DELETE FROM events`)).rejects.toThrow(/append-only/);
    await expect(sql(url, `TRUNCATE events`)).rejects.toThrow(/append-only/);
  });

  it('several connections claiming at once never get the same set, and the batch runs out exactly', async () => {
    const { url } = await fresh();
    const ledgers = await Promise.all(Array.from({ length: 4 }, () => PostgresLedger.open(url, { password: server.cluster().password })));
    cleanups.push(() => Promise.all(ledgers.map((l) => l.close())));
    await ledgers[0]!.importBatch({ name: 'b', kind: 'sets', source: '/b' }, Array.from({ length: 60 }, (_, i) => fakeSet(`s${i}`)), ctx);
    const devices = Array.from({ length: 72 }, (_, i) => fakeDevice(i + 1));
    for (const device of devices) await ledgers[0]!.recordDevice(device, ctx);
    const results = await Promise.all(devices.map((device, i) => ledgers[i % 4]!.claim({ batch: 'b', device: device.mac }, { ...ctx, station: `s${i % 4}` })));
    const names = results.flatMap((r) => (r.kind === 'claimed' ? [r.assignment.set.name] : []));
    expect(names).toHaveLength(60);
    expect(new Set(names).size).toBe(60);
    expect(results.filter((r) => r.kind === 'exhausted')).toHaveLength(12);
    // The same device from two stations at once: one assignment, both see it.
    await ledgers[0]!.importBatch({ name: 'c', kind: 'sets', source: '/c' }, [fakeSet('c0'), fakeSet('c1')], ctx);
    const both = await Promise.all([ledgers[1]!.claim({ batch: 'c', device: devices[0]!.mac }, ctx), ledgers[2]!.claim({ batch: 'c', device: devices[0]!.mac }, ctx)]);
    expect(both.map((r) => r.kind).sort()).toEqual(['claimed', 'existing']);
    expect(new Set(both.map((r) => (r.kind === 'exhausted' ? 0 : r.assignment.id))).size).toBe(1);
  });

  it('takes the password from --ledger-password-file, AT_PKI_LEDGER_PASSWORD or PGPASSWORD, never from the URL', async () => {
    const url = await server.database();
    const password = server.cluster().password;
    const dir = tempDir('pgpw');
    cleanups.push(() => dir.remove());
    const file = join(dir.path, 'password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    const saved = { a: process.env.AT_PKI_LEDGER_PASSWORD, p: process.env.PGPASSWORD };
    cleanups.push(() => {
      for (const [key, value] of [['AT_PKI_LEDGER_PASSWORD', saved.a], ['PGPASSWORD', saved.p]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });
    delete process.env.AT_PKI_LEDGER_PASSWORD;
    delete process.env.PGPASSWORD;

    await (await openLedger(url, { passwordFile: file })).close();
    process.env.AT_PKI_LEDGER_PASSWORD = password;
    await (await openLedger(url)).close();
    delete process.env.AT_PKI_LEDGER_PASSWORD;
    process.env.PGPASSWORD = password;
    await (await openLedger(url)).close();

    process.env.AT_PKI_LEDGER_PASSWORD = 'wrong';
    const refused = openLedger(url);
    await expect(refused).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('refused the login') });
    await expect(refused).rejects.not.toThrow(/wrong/);

    const withPassword = url.replace('atpki@', `atpki:${password}@`);
    const inUrl = openLedger(withPassword);
    await expect(inUrl).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^the ledger URL carries a password: remove it/) });
    await expect(inUrl).rejects.not.toThrow(password);
    await expect(openLedger(`${url}&password=${password}`)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('password parameter') });
  });

  it('says the database cannot be reached when nothing answers', async () => {
    const dir = tempDir('pgnone');
    cleanups.push(() => dir.remove());
    await expect(openLedger(`postgres://atpki@/nothing?host=${dir.path}`, { password: 'x' })).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      exitCode: 1,
      message: expect.stringContaining('cannot be reached'),
    });
    await expect(openLedger(`${server.cluster().url('no_such_db')}`, { password: server.cluster().password })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('does not exist'),
    });
  });
});
