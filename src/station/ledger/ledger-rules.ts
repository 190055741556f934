/**
 * The ledger's rules that do not depend on the SQL dialect, shared by both backends so that SQLite
 * and PostgreSQL refuse the same things with the same words (the contract suite checks both).
 */
import { InputError } from '../../errors.js';
import type { BatchKind, NewBatch } from './ledger.js';

export function batchNameTaken(name: string): InputError {
  return new InputError(`the ledger already has a batch named ${JSON.stringify(name)}; nothing imported`, { details: { batch: name } });
}

/** Two sets of one import hold the same certificate. */
export function sameCertificateInImport(other: string, set: string, sha256Hex: string): InputError {
  return new InputError(`sets ${other} and ${set} hold the same certificate (SHA-256 ${sha256Hex}); nothing imported`, {
    details: { sets: [other, set], certSha256: sha256Hex },
  });
}

/** A set of the import holds a certificate the ledger has already (any batch). */
export function certificateAlreadyInLedger(set: string, sha256Hex: string, existing: { name: string; batch: string }): InputError {
  return new InputError(
    `set ${set}: its certificate (SHA-256 ${sha256Hex}) is already in the ledger as set ${existing.name} of batch ${existing.batch}; nothing imported`,
    { details: { set, certSha256: sha256Hex, existingBatch: existing.batch, existingSet: existing.name } },
  );
}

/** An issued batch that exists already must be one of issued certificates from the same CA. */
export function checkIssuedBatch(row: { kind: BatchKind; source: string }, batch: NewBatch): void {
  if (row.kind !== 'issued') {
    throw new InputError(`batch ${JSON.stringify(batch.name)} holds imported sets; per-device issuance needs a batch of its own`, { details: { batch: batch.name } });
  }
  if (row.source !== batch.source) {
    throw new InputError(`batch ${JSON.stringify(batch.name)} was issued from another CA (${row.source}); name a new batch for this CA`, {
      details: { batch: batch.name, source: row.source },
    });
  }
}
