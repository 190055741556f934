/**
 * `--fast-baud` end to end: the built CLI, through real serialport (update() on the port), to an
 * emulated module on a pseudo-terminal. A pty carries bytes at any rate, so this checks the sequence
 * (module switched with AT+UART_CUR, back afterwards) rather than the speed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EspAtEmulator, servePty } from '../../mock-device/index.js';
import { atpkiVectors } from '../pki/paths.js';
import { ensureBuilt, expectOneLineError, jsonLines, runCliAsync } from './harness.js';

const clientCertBin = atpkiVectors().find((v) => v.name === 'client_cert')!.expected;

let work: string;
let emulator: EspAtEmulator | undefined;
let pty: { path: string; close(): Promise<void> } | undefined;

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'at-pki-fast-baud-'));
  writeFileSync(join(work, 'client_cert.bin'), clientCertBin);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(async () => {
  await pty?.close();
  emulator?.dispose();
});

async function serve(chip: 'esp32c3' | 'esp32c2'): Promise<{ emulator: EspAtEmulator; path: string; commands: string[] }> {
  emulator = new EspAtEmulator({ chip, fill: 'garbage', seed: 2 });
  const commands: string[] = [];
  emulator.on('command', (line) => commands.push(line));
  pty = await servePty(emulator);
  return { emulator, path: pty.path, commands };
}

const cli = (...args: string[]) => runCliAsync(args, { cwd: work });

describe('at-pki --fast-baud', () => {
  it('runs the update at the fast rate and leaves the module at its original rate', async () => {
    const { emulator, path, commands } = await serve('esp32c3');
    const run = await cli('update', '--port', path, 'client_cert', '--bin', 'client_cert.bin', '--fast-baud', '921600', '--json');
    expect(run.code).toBe(0);
    const logs = jsonLines(run).filter((e) => e.type === 'log').map((e) => e.message as string);
    expect(logs).toContain('switched the line to 921600 baud for the transfer');
    expect(logs).toContain('back at 115200 baud');
    const uart = commands.filter((c) => c.startsWith('AT+UART_CUR='));
    expect(uart).toEqual(['AT+UART_CUR=921600,8,1,0,0', 'AT+UART_CUR=115200,8,1,0,0']);
    // The data went over while the module ran at 921600.
    const switched = commands.indexOf('AT+UART_CUR=921600,8,1,0,0');
    const writes = commands.map((c, i) => (c.startsWith('AT+SYSFLASH=1,') ? i : -1)).filter((i) => i >= 0);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((i) => i > switched && i < commands.indexOf('AT+UART_CUR=115200,8,1,0,0'))).toBe(true);
    expect(emulator.baudRate).toBe(115200);
    expect(emulator.readPartition('client_cert').subarray(0, clientCertBin.length)).toEqual(clientCertBin);
  });

  it('warns and stays at the original rate when the module refuses the rate', async () => {
    const { emulator, path } = await serve('esp32c2'); // UART limit 2.5 Mbaud
    const run = await cli('update', '--port', path, 'client_cert', '--bin', 'client_cert.bin', '--fast-baud', '3000000');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/at-pki: warning: staying at 115200 baud: the module refused 3000000 baud/);
    expect(emulator.baudRate).toBe(115200);
  });

  it('refuses a rate that is not one (exit 2, nothing sent)', async () => {
    const { path, commands } = await serve('esp32c3');
    expectOneLineError(await cli('partitions', '--port', path, '--fast-baud', 'fast'), 2, /--fast-baud must be a whole number/);
    expectOneLineError(await cli('partitions', '--port', path, '--fast-baud', '100'), 2, /--fast-baud must be between 300 and 5000000/);
    expect(commands).toEqual([]);
  });
});
