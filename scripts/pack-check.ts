/**
 * `npm run test:pack`: the npm tarball, end to end, as a user gets it.
 *
 * 1. Copies the repository's files (git ls-files: what a clone has, no dist/) to a temporary folder
 *    and runs `npm pack` there, so `prepack` builds the program from scratch.
 * 2. Checks the tarball's contents (scripts/pack-contents.ts).
 * 3. Installs it into a temporary prefix, offline, from the npm cache that `npm ci` filled: a small
 *    project depending on the tarball, locked to this repository's package-lock.json versions, and
 *    `npm ci --offline --ignore-scripts` (a plain `npm install <tarball>` would ask the registry for
 *    package metadata, which `npm ci` does not cache). Without install scripts: serialport's native
 *    binding ships prebuilt, and better-sqlite3 is only loaded by station commands.
 * 4. From an unrelated, empty folder runs the installed `at-pki`: --version, partitions on the
 *    emulator, generate + inspect on the shipped examples, and a serial port that does not exist
 *    (which loads serialport's native binding and must be a one-line error with exit 2).
 *
 * Not part of `npm test` (which needs nothing outside the repository): this one needs npm and its
 * cache. .ci/run runs both. Exits 1 on the first failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packProblems, type PackedPackage } from './pack-contents.js';

/** dist/scripts/ → repository root. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const started = performance.now();

function step(text: string): void {
  console.log(`pack-check: ${text} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function fail(text: string): never {
  throw new Error(text);
}

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'at-pki-pack-'));
  try {
    // 1. A clone's files, packed: prepack builds dist/ from scratch.
    const clone = join(work, 'clone');
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of files) {
      mkdirSync(dirname(join(clone, file)), { recursive: true });
      try {
        copyFileSync(join(repoRoot, file), join(clone, file));
      } catch {
        // listed by git but deleted in the work tree
      }
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
    step(`copied ${files.length} files; npm pack (prepack builds)`);
    const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', work], clone)) as { filename: string; files: { path: string }[] }[];
    const tarball = join(work, packed[0]!.filename);

    // 2. Its contents.
    const extracted = join(work, 'extracted');
    mkdirSync(extracted);
    run('tar', ['xzf', tarball, '-C', extracted], work);
    const root = join(extracted, 'package');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackedPackage['manifest'] & { version: string; license?: string; engines?: unknown };
    const problems = packProblems({ files: packed[0]!.files.map((file) => file.path), manifest, read: (path) => readFileSync(join(root, path), 'utf8') });
    if (problems.length > 0) fail(`the tarball is not a working program:\n  ${problems.join('\n  ')}`);
    step(`${packed[0]!.filename}: ${packed[0]!.files.length} files, contents OK; installing offline`);

    // 3. Installed into a prefix, offline, at this repository's locked versions.
    const prefix = join(work, 'prefix');
    mkdirSync(prefix);
    const name = 'at-pki.tgz';
    copyFileSync(tarball, join(prefix, name));
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const packages: Record<string, unknown> = {
      '': { dependencies: { 'at-pki': `file:${name}` } },
      'node_modules/at-pki': {
        version: manifest.version,
        resolved: `file:${name}`,
        integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
        license: manifest.license,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
        engines: manifest.engines,
      },
    };
    for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
    writeFileSync(join(prefix, 'package.json'), `${JSON.stringify({ private: true, dependencies: { 'at-pki': `file:${name}` } })}\n`);
    writeFileSync(join(prefix, 'package-lock.json'), `${JSON.stringify({ lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
    run(npm, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], prefix);
    step('installed');

    // 4. Run from an unrelated folder.
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const bin = join(prefix, 'node_modules', '.bin', process.platform === 'win32' ? 'at-pki.cmd' : 'at-pki');
    const atPki = (args: readonly string[]) => spawnSync(bin, args, { cwd: elsewhere, encoding: 'utf8', env: { ...process.env, AT_PKI_PORT: '', AT_PKI_DEBUG: '' } });
    const expect = (args: readonly string[], status: number, check: (out: string, err: string) => boolean): void => {
      const result = atPki(args);
      if (result.status !== status || !check(result.stdout, result.stderr)) {
        fail(`at-pki ${args.join(' ')}: exit ${result.status} (expected ${status})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      }
      console.log(`  at-pki ${args.join(' ')}: exit ${status} OK`);
    };
    expect(['--version'], 0, (out) => out.trim() === manifest.version);
    expect(['partitions', '--port', 'mock://esp32c3'], 0, (out) => /client_cert\s+64\s+5\s+0x/.test(out));
    const examples = join(prefix, 'node_modules', 'at-pki', 'examples', 'raw_data');
    expect(['generate', '--from', examples, 'client_cert', '-o', 'client_cert.bin'], 0, (out) => out.startsWith('wrote client_cert.bin'));
    expect(['inspect', 'client_cert.bin', '--json'], 0, (out) => JSON.parse(out.trim().split('\n').at(-1)!).result.items.length === 2);
    // Opening a serial port loads serialport's native binding (prebuilt, no install script ran).
    expect(['partitions', '--port', '/dev/at-pki-pack-check-no-such-port'], 2, (_out, err) => /^at-pki: .*no-such-port/.test(err) && !/internal error/.test(err));
    step('the installed at-pki runs');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`pack-check: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
