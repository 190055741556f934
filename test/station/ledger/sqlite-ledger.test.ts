/**
 * The SQLite ledger: the shared contract, plus what is SQLite's own: WAL + synchronous=FULL, the
 * schema version, UNIQUE constraints and the append-only triggers holding even against direct SQL,
 * and one file shared by two connections (two station processes).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../../src/station/ledger/open-ledger.js';
import { SQLITE_SCHEMA_VERSION, SqliteLedger } from '../../../src/station/ledger/sqlite-ledger.js';
import { tempDir } from '../support.js';
import { describeLedgerContract, fakeDevice, fakeSet } from './ledger-contract.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function ledgerPath(): string {
  const dir = tempDir('ledger');
  cleanups.push(() => dir.remove());
  return join(dir.path, 'ledger.sqlite');
}

describeLedgerContract('sqlite', async () => {
  const dir = tempDir('ledger');
  const ledger = await openLedger(join(dir.path, 'ledger.sqlite'));
  return {
    ledger,
    close: async () => {
      await ledger.close();
      dir.remove();
    },
  };
});

describe('SqliteLedger', () => {
  const ctx = { station: 's', actor: 't' };

  it('opens in WAL mode with synchronous=FULL at the current schema version, and reopens without migrating again', async () => {
    const path = ledgerPath();
    const ledger = await SqliteLedger.open(path);
    await ledger.close();
    const db = new Database(path);
    cleanups.push(() => db.close());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    const again = await SqliteLedger.open(path);
    await again.close();
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    await expect(SqliteLedger.open(path)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('newer at-pki') });
  });

  it('sets synchronous=FULL on its connection', async () => {
    const ledger = await SqliteLedger.open(ledgerPath());
    cleanups.push(() => ledger.close());
    expect(ledger.durability()).toEqual({ journalMode: 'wal', synchronous: 'FULL' });
  });

  it('refuses a path that is not a database; a postgres:// URL goes to the PostgreSQL backend', async () => {
    await expect(openLedger('/nonexistent-dir/x/ledger.sqlite')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    const missing = ledgerPath();
    await expect(openLedger(missing, { mustExist: true })).rejects.toMatchObject({ code: 'BAD_INPUT', message: `no ledger at ${missing}` });
    await expect(openLedger('postgres://u:secret@h/db')).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('carries a password') });
  });

  it('UNIQUE constraints and triggers hold against direct SQL: no set twice, no second current assignment, no edited event', async () => {
    const path = ledgerPath();
    const ledger = await SqliteLedger.open(path);
    cleanups.push(() => ledger.close());
    await ledger.importBatch({ name: 'b', kind: 'sets', source: '/b' }, [fakeSet('s0'), fakeSet('s1')], ctx);
    for (const i of [1, 2]) await ledger.recordDevice(fakeDevice(i), ctx);
    const claim = await ledger.claim({ batch: 'b', device: fakeDevice(1).mac }, ctx);
    expect(claim.kind).toBe('claimed');
    const db = new Database(path);
    cleanups.push(() => db.close());
    const insert = db.prepare(`INSERT INTO assignments (set_id, batch_id, device, state, current, station, created_at, updated_at) VALUES (?, 1, ?, 'reserved', 1, 's', 'x', 'x')`);
    expect(() => insert.run(1, fakeDevice(2).mac)).toThrow(/UNIQUE/);
    expect(() => insert.run(2, fakeDevice(1).mac)).toThrow(/UNIQUE/);
    expect(() => db.prepare(`UPDATE events SET kind = 'x'`).run()).toThrow(/append-only/);
    expect(() => db.prepare(`DELETE FROM events`).run()).toThrow(/append-only/);
  });

  it('two connections to one file (two processes) never claim the same set', async () => {
    const path = ledgerPath();
    const one = await SqliteLedger.open(path);
    const two = await SqliteLedger.open(path);
    cleanups.push(() => one.close(), () => two.close());
    await one.importBatch({ name: 'b', kind: 'sets', source: '/b' }, Array.from({ length: 20 }, (_, i) => fakeSet(`s${i}`)), ctx);
    const claims = [];
    for (let i = 1; i <= 24; i++) {
      const ledger = i % 2 ? one : two;
      await ledger.recordDevice(fakeDevice(i), ctx);
      claims.push(ledger.claim({ batch: 'b', device: fakeDevice(i).mac }, ctx));
    }
    const results = await Promise.all(claims);
    const names = results.flatMap((r) => (r.kind === 'claimed' ? [r.assignment.set.name] : []));
    expect(names).toHaveLength(20);
    expect(new Set(names).size).toBe(20);
  });
});
