/**
 * `npm run bench:ledger`: claims per second against the ledger, SQLite (one file, WAL,
 * synchronous=FULL) and PostgreSQL (a throwaway cluster with fsync on, unix socket), from 1, 2 and
 * 4 processes claiming from one batch until it runs out. Each process is scripts/ledger-claimer.ts
 * with its own connection; the figure is all claims over the wall time from `go` to the last exit.
 * Every run is checked: as many distinct sets as claims, no set twice.
 *
 *   node dist/scripts/bench-ledger.js [--sets N] [--processes 1,2,4] [--only sqlite,postgres] [--quick] [--json FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import type { NewSet } from '../src/station/ledger/ledger.js';
import { openLedger } from '../src/station/ledger/open-ledger.js';
import { fixed, formatTable } from './bench-support.js';
import { runClaimers } from './ledger-claimer.js';
import { findPostgresBin, startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

interface LedgerRow {
  backend: string;
  processes: number;
  claims: number;
  seconds: number;
  claimsPerSecond: number;
  duplicates: number;
}

function benchSet(name: string): NewSet {
  const der = randomBytes(64);
  const sha256Hex = createHash('sha256').update(der).digest('hex');
  return {
    name,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    certificateDer: der,
    serialHex: randomBytes(16).toString('hex'),
    sha256Hex,
    subject: `CN=${name}`,
    notAfter: new Date('2036-01-01T00:00:00Z'),
    files: [{ target: 'client_cert', type: 'cert', file: 'client_cert/cert.pem', bytes: 64, sha256Hex }],
  };
}

async function measure(backend: string, spec: string, password: string | undefined, sets: number, processes: number): Promise<LedgerRow> {
  const ledger = await openLedger(spec, password === undefined ? {} : { password });
  try {
    const batch = Array.from({ length: sets }, (_, i) => benchSet(`set-${i}`));
    await ledger.importBatch({ name: 'bench', kind: 'sets', source: '/bench' }, batch, { station: 'bench', actor: 'bench' });
  } finally {
    await ledger.close();
  }
  const per = Math.ceil(sets / processes) + Math.ceil(sets / 10);
  const run = await runClaimers({
    ledger: spec,
    batch: 'bench',
    processes: Array.from({ length: processes }, (_, i) => ({ station: `bench-${i}`, devices: per })),
    ...(password === undefined ? {} : { password }),
  });
  const failed = run.results.filter((r) => r.code !== 0);
  if (failed.length > 0) throw new Error(`claimer failed: ${failed.map((r) => r.stderr.trim()).join('; ')}`);
  const claims = run.results.flatMap((r) => r.claims);
  const distinct = new Set(claims.map((c) => c.set)).size;
  return { backend, processes, claims: claims.length, seconds: run.wallMs / 1000, claimsPerSecond: claims.length / (run.wallMs / 1000), duplicates: claims.length - distinct };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sets: { type: 'string' },
      processes: { type: 'string', default: '1,2,4' },
      only: { type: 'string', default: 'sqlite,postgres' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: npm run bench:ledger -- [--sets N] [--processes 1,2,4] [--only sqlite,postgres] [--quick] [--json FILE]');
    return;
  }
  const sets = Number(values.sets ?? (values.quick ? 300 : 2000));
  const counts = values.processes!.split(',').map(Number);
  const only = values.only!.split(',');
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`;
  console.log(`at-pki ledger benchmark — ${machine}; ${sets} sets per run, claims until the batch runs out\n`);

  const rows: LedgerRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'atpki-bench-ledger-'));
  let cluster: PostgresCluster | undefined;
  try {
    if (only.includes('sqlite')) {
      for (const processes of counts) rows.push(await measure('SQLite (WAL, synchronous=FULL)', join(dir, `ledger-${processes}.sqlite`), undefined, sets, processes));
    }
    if (only.includes('postgres')) {
      if (findPostgresBin() === undefined) {
        console.log('PostgreSQL: server binaries not found, skipped (install postgresql)\n');
      } else {
        cluster = await startPostgresCluster({ fsync: true });
        for (const processes of counts) {
          const url = await cluster.createDatabase(`bench_${processes}`);
          rows.push(await measure(`PostgreSQL ${cluster.version} (fsync on, unix socket)`, url, cluster.password, sets, processes));
        }
      }
    }
  } finally {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    formatTable({
      title: 'Ledger claims per second (one batch, N processes claiming until it runs out)',
      header: ['backend', 'processes', 'claims', 's', 'claims/s', 'sets claimed twice'],
      rows: rows.map((r) => [r.backend, String(r.processes), String(r.claims), fixed(r.seconds, 2), fixed(r.claimsPerSecond, 0), String(r.duplicates)]),
    }),
  );
  const json = { bench: 'at-pki-ledger', machine, sets, rows };
  console.log(`\n${JSON.stringify(json)}`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(json, null, 2)}\n`);
  if (rows.some((r) => r.duplicates > 0 || r.claims !== sets)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
