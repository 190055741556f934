/**
 * PostgreSQL in tests: describePostgres() starts a throwaway cluster (scripts/postgres-cluster.ts)
 * for its block and stops it after. Where the server binaries are missing the block is skipped with
 * a title and a console warning that say so, so that `npm test` passes on a developer machine
 * without PostgreSQL; under CI (CI=true) a missing server is a failure instead: CI must run them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { findPostgresBin, startPostgresCluster, type PostgresCluster } from '../../scripts/postgres-cluster.js';

export const postgresBin = findPostgresBin();
const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

export interface PostgresHandle {
  /** The running cluster (inside tests and hooks of the block). */
  cluster(): PostgresCluster;
  /** A new empty database's URL (no password in it: use cluster().password). */
  database(): Promise<string>;
}

let databases = 0;

export function describePostgres(title: string, body: (pg: PostgresHandle) => void): void {
  if (postgresBin === undefined) {
    const reason = 'PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin, pg_config); install postgresql';
    if (inCi) {
      describe(title, () => {
        it('runs against a real PostgreSQL server in CI', () => {
          throw new Error(`CI must run the PostgreSQL tests, but: ${reason}`);
        });
      });
      return;
    }
    console.warn(`\n*** PostgreSQL tests NOT RUN: "${title}": ${reason} ***\n`);
    describe.skip(`${title} — NOT RUN: ${reason}`, () => body(unreachableHandle));
    return;
  }
  describe(title, () => {
    let cluster: PostgresCluster | undefined;
    let state: string | undefined;
    const savedState = process.env.XDG_STATE_HOME;
    beforeAll(async () => {
      // The ledger's local outbox (ledger-outbox.ts) goes under XDG_STATE_HOME: a temp folder, not the user's home.
      state = mkdtempSync(join(tmpdir(), 'atpki-state-'));
      process.env.XDG_STATE_HOME = state;
      cluster = await startPostgresCluster();
    }, 120_000);
    afterAll(async () => {
      await cluster?.stop();
      if (savedState === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = savedState;
      if (state) rmSync(state, { recursive: true, force: true });
    }, 60_000);
    body({
      cluster: () => {
        if (!cluster) throw new Error('the PostgreSQL cluster is not running');
        return cluster;
      },
      database: async () => {
        if (!cluster) throw new Error('the PostgreSQL cluster is not running');
        return cluster.createDatabase(`t${process.pid}_${++databases}`);
      },
    });
  });
}

const unreachableHandle: PostgresHandle = {
  cluster: () => {
    throw new Error('PostgreSQL is not available');
  },
  database: () => Promise.reject(new Error('PostgreSQL is not available')),
};
