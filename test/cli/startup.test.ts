/**
 * Start-up: a command's code is loaded only when that command runs (the pattern at the top of
 * src/cli/program.ts). The built CLI runs under a module-loader hook that logs every module it loads
 * (test/support/module-log/); before a command runs, that may only be commander, node built-ins, the
 * CLI's registration files and light helpers — no emulator, serialport, pino, prom-client, daemon or
 * command implementation. Fails if someone adds a heavy static import to a registration file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atpkiVectors, repoRoot } from '../pki/paths.js';
import { cliPath, ensureBuilt } from './harness.js';

const hook = join(repoRoot, 'test/support/module-log/register.mjs');
const dist = join(repoRoot, 'dist');
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'at-pki-startup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Loaded {
  /** Project modules, relative to dist/ (src/cli/main.js, mock-device/emulator.js...). */
  project: string[];
  /** npm packages whose code was loaded. */
  packages: string[];
  stdout: string;
  status: number | null;
}

let runs = 0;
/** Run the CLI with `args` and report what it loaded. */
function loadedBy(args: readonly string[]): Loaded {
  const log = join(dir, `modules-${runs++}.log`);
  const result = spawnSync(process.execPath, ['--import', hook, cliPath, ...args], {
    cwd: dir,
    env: { ...process.env, AT_PKI_MODULE_LOG: log, AT_PKI_DEBUG: '' },
    encoding: 'utf8',
  });
  const urls = readFileSync(log, 'utf8').trim().split('\n');
  const files = urls.filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url));
  const packages = new Set<string>();
  const project: string[] = [];
  for (const file of files) {
    const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (inPackage) packages.add(inPackage[1]!);
    else project.push(relative(dist, file));
  }
  return { project: project.sort(), packages: [...packages].sort(), stdout: result.stdout, status: result.status };
}

/**
 * What may be loaded before a command runs: the CLI's own files (an implementation file in src/cli is
 * caught by what it imports: the flash/pki/station layers or a package), errors.ts, and the transport
 * registry main.ts registers schemes with (it loads the serial and tcp transports when it opens one).
 */
const LIGHT = [/^src\/cli\//, /^src\/errors\.js$/, /^src\/transport\/(open|abortable|base-transport)\.js$/];

function heavy(loaded: Loaded): string[] {
  return [...loaded.packages.filter((name) => name !== 'commander'), ...loaded.project.filter((file) => !LIGHT.some((ok) => ok.test(file)))];
}

describe('start-up loads only what the command needs', () => {
  it('--version alone loads neither commander nor the commands', () => {
    const loaded = loadedBy(['--version']);
    expect(loaded.status).toBe(0);
    expect(loaded.stdout).toBe(`${JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version}\n`);
    expect(loaded.packages).toEqual([]);
    expect(loaded.project).toEqual(['src/cli/io.js', 'src/cli/main.js', 'src/cli/version.js']);
  });

  it('--help loads commander, every registration file and light helpers: nothing heavy', () => {
    const loaded = loadedBy(['--help']);
    expect(loaded.status).toBe(0);
    // Every command registered (so this covers every registration file), and nothing heavy.
    for (const name of ['daemon', 'generate', 'inspect', 'partitions', 'update', 'status']) expect(loaded.project).toContain(`src/cli/commands/${name}.js`);
    expect(loaded.packages).toEqual(['commander']);
    expect(heavy(loaded)).toEqual([]);
  });

  it("a command's --help, or --version after other arguments, loads nothing more", () => {
    for (const args of [['generate', '--help'], ['update', '--help'], ['daemon', '--help'], ['mfg', 'write', '--help'], ['--json', '--version']]) {
      const loaded = loadedBy(args);
      expect(loaded.status, args.join(' ')).toBe(0);
      expect(heavy(loaded), args.join(' ')).toEqual([]);
    }
  });

  it('inspect loads the codecs, not the emulator, serial ports, the daemon or its logger', () => {
    const bin = join(atpkiVectors().find((vector) => vector.name === 'client_cert')!.dir, 'expected.bin');
    const loaded = loadedBy(['inspect', bin]);
    expect(loaded.status).toBe(0);
    // The hook sees modules loaded lazily (so the checks above can fail).
    expect(loaded.project).toContain('src/pki/validate.js');
    expect(loaded.packages).toEqual(['commander']);
    expect(loaded.project.filter((file) => /^(mock-device|src\/station|src\/at|src\/transport)\//.test(file) && !LIGHT.some((ok) => ok.test(file)))).toEqual([]);
  });

  it('partitions on mock:// loads the emulator, not serialport, the daemon, pino or prom-client', () => {
    const loaded = loadedBy(['partitions', '--port', 'mock://esp32c3']);
    expect(loaded.status).toBe(0);
    expect(loaded.project).toContain('mock-device/in-process-transport.js');
    expect(loaded.project).toContain('src/flash/module.js');
    expect(loaded.project.filter((file) => /^src\/station\/|^src\/transport\/(serial|tcp)/.test(file))).toEqual([]);
    for (const name of ['serialport', '@serialport/bindings-cpp', 'pino', 'prom-client', 'better-sqlite3']) expect(loaded.packages).not.toContain(name);
  });
});
