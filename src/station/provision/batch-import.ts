/**
 * `batch import`: every folder below DIR is one set, named by its folder. All sets are read and
 * validated before anything is stored; the ledger then stores the batch in one transaction, refusing
 * it whole if any certificate is already in the ledger (any batch). Private keys are only read to be
 * checked against their certificate; the ledger gets public parts and file fingerprints.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import type { BatchSummary, Ledger, LedgerContext } from '../ledger/ledger.js';
import { readSetDir } from './credential-set.js';

/** A batch name: letters, digits, `_ . : -`, up to 64 (it appears in exports and file names). */
export const BATCH_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function checkBatchName(name: string): void {
  if (!BATCH_NAME.test(name)) {
    throw new InputError(`bad batch name ${JSON.stringify(name)}: use letters, digits, _ . : - (up to 64, starting with a letter or digit)`, { details: { batch: name } });
  }
}

export interface ImportProgress {
  (done: number, total: number): void;
}

export async function importBatchDir(ledger: Ledger, batch: string, dir: string, context: LedgerContext, onProgress?: ImportProgress): Promise<BatchSummary> {
  checkBatchName(batch);
  const root = resolve(dir);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw new InputError(`cannot read the batch folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { details: { path: dir } });
  }
  const folders = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
  const notFolders = folders.filter((e) => !e.isDirectory());
  if (notFolders.length > 0) {
    throw new InputError(`${dir}: ${notFolders[0]!.name} is not a set folder (every entry of DIR is one set: DIR/<set>/client_cert/…); nothing imported`, {
      details: { path: dir, entry: notFolders[0]!.name },
    });
  }
  if (folders.length === 0) throw new InputError(`${dir} holds no set folders (DIR/<set>/client_cert/…); nothing imported`, { details: { path: dir } });
  const sets = [];
  for (const [index, folder] of folders.entries()) {
    try {
      sets.push((await readSetDir(join(root, folder.name), folder.name)).record);
    } catch (error) {
      if (error instanceof InputError) error.message = `${error.message}; nothing imported`;
      throw error;
    }
    onProgress?.(index + 1, folders.length);
  }
  return ledger.importBatch({ name: batch, kind: 'sets', source: root }, sets, context);
}
