/**
 * `at-pki generate --batch DIR -o OUTDIR`: the bins of many credential sets in one process. Every
 * folder below DIR is a set in ESP-AT's raw_data layout (`DIR/<set>/client_cert/…`); each of its
 * partition folders becomes `OUTDIR/<set>/<partition>.bin`, exactly as `generate --from DIR/<set>
 * <partition>` would write it, with the same validation.
 *
 * Nothing half-written: every bin of every set is built (and validated) in memory first; a bad set
 * stops the command before any file is written, with one line naming the set and the file. Then the
 * bins are written into a staging folder inside OUTDIR and renamed into place. They are not flushed
 * one by one as `generate` flushes its one bin: thousands of fsyncs cost seconds, a bin cut short by a
 * power loss is refused by `update --bin` and `inspect`, and the batch can simply be run again.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { AtPkiError, InputError, UsageError } from '../errors.js';
import { prepareBin } from '../flash/bin-source.js';
import { parsePartitionSize } from '../flash/credential-files.js';
import { pkiTypeOfPartition } from '../pki/types.js';
import type { CliIo } from './io.js';
import { printResult, printWarnings, type JsonOption } from './output.js';

export interface GenerateBatchOptions extends JsonOption {
  /** The folder holding one folder per set. */
  batch: string;
  /** Where `<set>/<partition>.bin` go (created if missing). */
  output?: string;
  /** Refuse a bin larger than this many bytes. */
  partitionSize?: string;
  /** Validate the items first. @default true */
  validate: boolean;
}

/** One bin of a set, built. */
interface BuiltBin {
  partition: string;
  bin: Buffer;
  items: number;
  holdsKey: boolean;
}

interface BuiltSet {
  set: string;
  bins: BuiltBin[];
  /** Entries of the set folder that are not PKI partition folders. */
  ignored: string[];
  warnings: string[];
}

/** Sets built at once: overlaps file reads; validation (OpenSSL) runs on this thread anyway. */
const CONCURRENCY = 8;
/** At most this many warnings are printed on stderr (all of them are in the --json result). */
const MAX_PRINTED_WARNINGS = 20;

export async function runGenerateBatch(io: CliIo, args: readonly string[], options: GenerateBatchOptions): Promise<void> {
  if (args.length > 0) throw new UsageError(`--batch takes no <type> <file> pairs or partition names (got ${args.join(' ')})`);
  if (options.output === undefined) throw new UsageError('--batch needs -o <outdir>: the bins go to <outdir>/<set>/<partition>.bin');
  const outdir = options.output;
  const limit = options.partitionSize === undefined ? undefined : parsePartitionSize(options.partitionSize);
  if (limit?.partition !== undefined) {
    throw new UsageError(`with --batch, --partition-size takes a size in bytes (8192, 0x2000, 8K) that every bin is checked against, not a partition name`);
  }
  const started = performance.now();
  const sets = await listSets(options.batch);
  const progress = progressOf(io, options.json, sets.length);

  // 1. Build everything in memory: a bad set stops here, before anything is written. After a
  // failure no new set is started; the first bad set in name order among those built is reported.
  const built: BuiltSet[] = new Array(sets.length);
  const failures: { index: number; error: unknown }[] = [];
  let done = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sets.length && failures.length === 0) {
      const index = next++;
      try {
        built[index] = await buildSet(options.batch, sets[index]!, options.validate, limit?.bytes);
      } catch (error) {
        failures.push({ index, error });
        return;
      }
      progress.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, sets.length) }, worker));
  progress.stop();
  if (failures.length > 0) throw failures.reduce((first, failure) => (failure.index < first.index ? failure : first)).error;

  // 2. Write into a staging folder, then rename into place.
  const written = await writeSets(outdir, built);
  const seconds = (performance.now() - started) / 1000;

  const warnings = built.flatMap((set) => set.warnings);
  printWarnings(io, warnings.slice(0, MAX_PRINTED_WARNINGS));
  if (warnings.length > MAX_PRINTED_WARNINGS) printWarnings(io, [`… and ${warnings.length - MAX_PRINTED_WARNINGS} more warnings (--json lists them all)`]);
  const ignored = ignoredSummary(built);
  if (ignored) printWarnings(io, [ignored]);

  const bins = built.reduce((sum, set) => sum + set.bins.length, 0);
  const partitions = [...new Set(built.flatMap((set) => set.bins.map((bin) => bin.partition)))].sort();
  const human = `wrote ${bins} bin${bins === 1 ? '' : 's'} for ${built.length} set${built.length === 1 ? '' : 's'} into ${outdir}/<set>/ (${partitions.join(', ')}): ${written} bytes in ${seconds.toFixed(2)} s${options.validate ? '' : ' (not validated)'}`;
  printResult(io, options.json, human, {
    batch: options.batch,
    output: outdir,
    sets: built.map((set) => ({
      set: set.set,
      bins: set.bins.map((bin) => ({ partition: bin.partition, path: join(outdir, set.set, `${bin.partition}.bin`), size: bin.bin.length, items: bin.items })),
      ignored: set.ignored,
      warnings: set.warnings,
    })),
    count: { sets: built.length, bins, bytes: written },
    validated: options.validate,
    seconds,
  });
}

/** The set folders of DIR, sorted by name (hidden ones skipped). */
async function listSets(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw folderError(error, dir);
  }
  const sets = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name);
  if (sets.length === 0) throw new InputError(`no set folders in ${dir} (expected ${dir}/<set>/client_cert/... for each set)`, { details: { path: dir } });
  return sets.sort();
}

/** Every PKI partition folder of one set, built as `generate --from` builds it. Errors name the set and the file. */
async function buildSet(root: string, set: string, validate: boolean, maxBytes: number | undefined): Promise<BuiltSet> {
  const dir = join(root, set);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw inSet(set, folderError(error, dir));
  }
  const visible = entries.filter((entry) => !entry.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
  const partitions = visible.filter((entry) => entry.isDirectory() && pkiTypeOfPartition(entry.name) !== undefined).map((entry) => entry.name);
  const ignored = visible.filter((entry) => !partitions.includes(entry.name)).map((entry) => entry.name);
  if (partitions.length === 0) {
    const hint = visible.some((entry) => !entry.isDirectory()) ? `; is ${root} a single raw_data folder? Use --from for that` : '';
    throw new InputError(`set ${set}: no partition folders in ${dir} (names end in _ca, _cert or _key, e.g. ${dir}/client_cert/)${hint}`, {
      details: { set, path: dir },
    });
  }
  const bins: BuiltBin[] = [];
  const warnings: string[] = [];
  for (const partition of partitions) {
    let prepared;
    try {
      prepared = await prepareBin({ kind: 'dir', root: dir, partition }, { validate });
    } catch (error) {
      throw inSet(set, error);
    }
    if (maxBytes !== undefined && prepared.bin.length > maxBytes) {
      throw new InputError(`set ${set}: ${partition}.bin would be ${prepared.bin.length} bytes, ${prepared.bin.length - maxBytes} more than --partition-size ${maxBytes}`, {
        details: { set, partition, size: prepared.bin.length, partitionSize: maxBytes },
      });
    }
    warnings.push(...prepared.notes.map((note) => `set ${set}: ${note}`));
    if (prepared.validation) warnings.push(...prepared.validation.warnings.map((finding) => `set ${set}: ${finding.message}`));
    bins.push({ partition, bin: prepared.bin, items: prepared.items.length, holdsKey: prepared.items.some((item) => item.type === 'key') });
  }
  return { set, bins, ignored, warnings };
}

/**
 * Write every bin into `<outdir>/.at-pki-batch-…/<set>/`, then rename each into `<outdir>/<set>/`
 * (replacing an older bin of the same name at once). Returns the bytes written.
 */
async function writeSets(outdir: string, sets: readonly BuiltSet[]): Promise<number> {
  try {
    await mkdir(outdir, { recursive: true });
    if (!(await stat(outdir)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
  } catch (error) {
    throw writeError(error, outdir, 'nothing was written');
  }
  const staging = join(outdir, `.at-pki-batch-${process.pid}-${randomBytes(4).toString('hex')}`);
  let bytes = 0;
  let moved = 0;
  // Synchronous calls: thousands of small files, nothing else to do meanwhile, and no thread-pool
  // round trip per call (several times faster here than fs/promises).
  try {
    mkdirSync(staging);
    for (const set of sets) {
      mkdirSync(join(staging, set.set));
      for (const bin of set.bins) {
        writeFileSync(join(staging, set.set, `${bin.partition}.bin`), bin.bin, { flag: 'wx', mode: bin.holdsKey ? 0o600 : 0o644 });
        bytes += bin.bin.length;
      }
    }
    for (const set of sets) {
      mkdirSync(join(outdir, set.set), { recursive: true });
      for (const bin of set.bins) {
        renameSync(join(staging, set.set, `${bin.partition}.bin`), join(outdir, set.set, `${bin.partition}.bin`));
        moved++;
      }
    }
  } catch (error) {
    throw writeError(error, outdir, moved === 0 ? 'nothing was written' : `${moved} bins were already in place, the others not: run it again`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return bytes;
}

/** Folders left out, once per name: `ignored ble_data (in 1000 sets): not a PKI partition folder`. */
function ignoredSummary(sets: readonly BuiltSet[]): string | undefined {
  const counts = new Map<string, number>();
  for (const set of sets) for (const name of set.ignored) counts.set(name, (counts.get(name) ?? 0) + 1);
  if (counts.size === 0) return undefined;
  const names = [...counts].map(([name, count]) => `${name} (in ${count} set${count === 1 ? '' : 's'})`).join(', ');
  return `ignored ${names}: not a PKI partition folder (names end in _ca, _cert or _key)`;
}

/** A set's error, one line naming the set (the message already names the file). */
function inSet(set: string, error: unknown): unknown {
  if (!(error instanceof AtPkiError)) return error;
  error.message = `set ${set}: ${error.message}`;
  error.details.set = set;
  return error;
}

function folderError(error: unknown, path: string): InputError {
  const code = (error as { code?: unknown }).code;
  const reason = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' ? 'permission denied' : String(code ?? error);
  return new InputError(`cannot read ${path}: ${reason}`, { cause: error, details: { path } });
}

/** Bad output paths are bad input (exit 2); a failing disk is not. Either way the message says what was left. */
function writeError(error: unknown, path: string, state: string): unknown {
  if (error instanceof AtPkiError) return error;
  const code = (error as { code?: unknown }).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such folder',
    ENOTDIR: 'a parent of it is not a folder',
    EEXIST: 'a file is in the way',
    EISDIR: 'a folder is in the way',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
  };
  const reason = typeof code === 'string' ? reasons[code] : undefined;
  if (reason !== undefined) return new InputError(`cannot write into ${path}: ${reason}; ${state}`, { cause: error, details: { path, errno: code } });
  if (error instanceof Error) error.message = `writing into ${path}: ${error.message}; ${state}`;
  return error;
}

/** Sets done: a bar on a terminal's stderr; with --json, progress lines (at most about 100). */
function progressOf(io: CliIo, json: boolean | undefined, total: number): { update(done: number): void; stop(): void } {
  if (json) {
    const every = Math.max(1, Math.floor(total / 100));
    return {
      update: (done) => {
        if (done % every === 0 || done === total) io.stdout(`${JSON.stringify({ type: 'progress', phase: 'generate', done, total, unit: 'sets' })}\n`);
      },
      stop: () => {},
    };
  }
  if (process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'generate [{bar}] {percentage}% | {value}/{total} sets', hideCursor: true, barsize: 30 }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}
