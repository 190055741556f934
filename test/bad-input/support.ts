/**
 * Helpers for the bad-input matrix: an emulated module on a real pseudo-terminal whose received
 * bytes are recorded, the built CLI (optionally as an unprivileged user), and the checks every case
 * makes: one clear `at-pki: …` line on stderr with the documented exit code, and a module that was
 * not touched.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { EspAtEmulator, servePty, type EspAtEmulatorOptions, type PtyServerHandle } from '../../mock-device/index.js';
import { expectOneLineError, runCliAsync, type CliRun } from '../cli/harness.js';
import { repoRoot } from '../pki/paths.js';

export { expectOneLineError };

export interface PtyDevice {
  emulator: EspAtEmulator;
  path: string;
  /** Every byte the module received since the last `reset()`. */
  received(): Buffer;
  /** The command lines the module received (CR LF split, latin1). */
  commandLines(): string[];
  /** Forget what was received, reset stats, take a new flash snapshot. */
  reset(): void;
  /** The flash image and the flash counters are as at the last `reset()`. */
  expectUntouched(): void;
  /** Not a single byte reached the module since the last `reset()`. */
  expectNothingSent(): void;
  close(): Promise<void>;
}

export async function ptyDevice(options: EspAtEmulatorOptions = {}): Promise<PtyDevice> {
  const emulator = new EspAtEmulator({ chip: 'esp32c3', fill: 'garbage', seed: 21, ...options });
  let chunks: Buffer[] = [];
  emulator.setFaultInjector({
    filterInput: (chunk) => {
      chunks.push(Buffer.from(chunk));
      return chunk;
    },
  });
  const pty: PtyServerHandle = await servePty(emulator);
  let snapshot = emulator.flashImage();
  const device: PtyDevice = {
    emulator,
    path: pty.path,
    received: () => Buffer.concat(chunks),
    commandLines: () =>
      device
        .received()
        .toString('latin1')
        .split('\r\n')
        .filter((line) => line.startsWith('AT')),
    reset: () => {
      chunks = [];
      emulator.resetStats();
      snapshot = emulator.flashImage();
    },
    expectUntouched: () => {
      expect(emulator.flashImage().equals(snapshot), 'flash changed').toBe(true);
      expect(emulator.stats.flashBytesWritten).toBe(0);
      expect(emulator.stats.flashBytesErased).toBe(0);
      expect(emulator.stats.mfgWrites + emulator.stats.mfgErases + emulator.stats.mfgChanges).toBe(0);
    },
    expectNothingSent: () => {
      expect(device.received().length, `the module received ${JSON.stringify(device.received().toString('latin1').slice(0, 80))}`).toBe(0);
      device.expectUntouched();
    },
    close: async () => {
      await pty.close();
      emulator.dispose();
    },
  };
  return device;
}

/** The commands a tool that only looks at a module sends (connect, firmware, partition table, storage mode). */
const LOOKING_ONLY = [/^AT$/, /^ATE1$/, /^AT\+SYSLOG=1$/, /^AT\+GMR$/, /^AT\+SYSFLASH\?$/, /^AT\+SYSMFG\?$/];

/** Only connect-time queries reached the module: no erase, write, read of data, restart, or anything injected. */
export function expectOnlyLookedAt(device: PtyDevice): void {
  const others = device.commandLines().filter((line) => !LOOKING_ONLY.some((re) => re.test(line)));
  expect(others, `unexpected commands: ${JSON.stringify(others)}`).toEqual([]);
  expect(device.received().includes(Buffer.from('AT+RST'))).toBe(false);
  device.expectUntouched();
}

export interface Workdir {
  path: string;
  file(name: string): string;
  remove(): void;
}

/** A scratch folder the CLI runs in (world-traversable, so an unprivileged user can run there too). */
export function workdir(): Workdir {
  const path = mkdtempSync(join(tmpdir(), 'atpki-bad-'));
  chmodSync(path, 0o755);
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (tests as root use 65534 to meet permission checks root would skip). */
  user?: { uid: number; gid: number };
}

/** The built CLI as its own process, with no port from the environment; never blocks the event loop. */
export function cli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return runCliAsync(args, { ...options, env: { AT_PKI_PORT: undefined, ...options.env } });
}

/** Exit 2 with one `at-pki: …` line matching `message`, and nothing on stdout but (with --json) the end record. */
export function expectRefused(run: CliRun, message: RegExp | string, code = 2): void {
  expectOneLineError(run, code, message);
  for (const line of run.stdout.split('\n').filter(Boolean)) {
    expect(() => JSON.parse(line), `stdout: ${run.stdout}`).not.toThrow();
  }
}
