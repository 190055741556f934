/**
 * A private key written by a full update never shows up anywhere but in the module: not on the CLI's
 * stdout/stderr (human, --json, AT_PKI_DEBUG=1, success and failure), not in the daemon's debug log,
 * journal, event streams or job views — also when the line misbehaves (faults, an answer that arrives
 * after its command gave up). "Shows up" = any run of 16 or more bytes of the key's PEM body, of its
 * DER (raw or hex), or of the PEM file base64-encoded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultInjector } from '../../mock-device/index.js';
import type { JobEvent } from '../../src/station/api-types.js';
import { ensureBuilt, type CliRun } from '../cli/harness.js';
import { fixture, fixturesDir } from '../pki/paths.js';
import { emulatedPort, eventually, removePorts, runJob, startTestStation, type EmulatedPort, type TestStation } from '../station/support.js';
import { cli, ptyDevice, workdir, type PtyDevice, type Workdir } from './support.js';

const KEY_FILE = `${fixturesDir}/device.key`;
const keyPem = fixture('device.key').toString('latin1');
const body = keyPem
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('-----'))
  .join('');
const der = Buffer.from(body, 'base64');

/** Every 16-byte run of the PEM body, the DER (raw, JSON-escaped, hex, HEX) and the PEM file in base64 (3 alignments). */
const runs: string[] = (() => {
  const set = new Set<string>();
  const windows = (s: string, size: number, step = 1): void => {
    for (let i = 0; i + size <= s.length; i += step) set.add(s.slice(i, i + size));
  };
  windows(body, 16);
  windows(der.toString('latin1'), 16);
  // The DER as it reads inside a JSON string (control bytes escaped), once and twice (a message quoting
  // it, then that message inside a JSON log line or journal record).
  const escaped = JSON.stringify(der.toString('latin1')).slice(1, -1);
  windows(escaped, 16);
  windows(JSON.stringify(escaped).slice(1, -1), 16);
  windows(der.toString('hex'), 32, 2);
  windows(der.toString('hex').toUpperCase(), 32, 2);
  for (const shift of [0, 1, 2]) windows(Buffer.from(keyPem.slice(shift), 'latin1').toString('base64').slice(0, -4), 16, 4);
  return [...set];
})();

function leaks(text: string): string[] {
  return runs.filter((run) => text.includes(run)).slice(0, 3);
}

let work: Workdir;
let legacy: PtyDevice;
let v3: PtyDevice;
const cliRuns: { what: string; run: CliRun }[] = [];

beforeAll(async () => {
  ensureBuilt();
  work = workdir();
  legacy = await ptyDevice({ chip: 'esp32c3' });
  v3 = await ptyDevice({ chip: 'esp32c3', firmware: '3.2.0.0' });
  writeFileSync(work.file('device.key'), fixture('device.key'));
  const go = async (what: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => {
    const run = await cli(args, { cwd: work.path, env });
    cliRuns.push({ what, run });
    return run;
  };
  // Successes: human, --json, debug; legacy partition and mfg_nvs namespace; and a second (unchanged) run.
  expect((await go('update (human)', ['update', '--port', legacy.path, 'client_key', 'key', KEY_FILE])).code).toBe(0);
  expect((await go('update again (unchanged)', ['update', '--port', legacy.path, 'client_key', 'key', KEY_FILE, '--json'])).code).toBe(0);
  expect((await go('update --force --json, debug', ['update', '--port', legacy.path, 'client_key', 'key', KEY_FILE, '--force', '--json'], { AT_PKI_DEBUG: '1' })).code).toBe(0);
  expect((await go('update mfg_nvs --json', ['update', '--port', v3.path, 'client_key', 'key', 'device.key', '--json'])).code).toBe(0);
  expect((await go('mfg list', ['mfg', 'list', '--port', v3.path, 'client_key', '--json'])).code).toBe(0);
  // Failures, with debug output: a byte of the written key changed on the line (verify fails), and
  // the module answering garbage halfway through.
  let corruptions = 0;
  legacy.emulator.setFaultInjector({
    filterInput: (chunk) => {
      // The write and its one rewrite (after two wrong read-backs) both arrive garbled.
      if (corruptions < 2 && chunk.length > 100 && !chunk.subarray(0, 2).equals(Buffer.from('AT'))) {
        corruptions++;
        const copy = Buffer.from(chunk);
        copy[50]! ^= 0x20;
        return copy;
      }
      return chunk;
    },
  });
  const failed = await go('update that fails verification, debug', ['update', '--port', legacy.path, 'mqtt_key', 'key', KEY_FILE, '--json'], { AT_PKI_DEBUG: '1' });
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/verification failed/);
  let reads = 0;
  v3.emulator.setFaultInjector({
    onCommand: (line) => {
      if (line.startsWith('AT+SYSMFG=1,')) reads++;
    },
    // From the second read on, the answer comes back scrambled (the key's bytes shifted by one).
    filterOutput: (chunk) => (reads >= 2 ? Buffer.from(chunk.map((b) => (b + 1) & 0xff)) : chunk),
  });
  const garbled = await go('mfg update with garbled answers, debug', ['update', '--port', v3.path, 'mqtt_key', 'key', KEY_FILE, '--timeout', '300'], { AT_PKI_DEBUG: '1' });
  expect(garbled.code).toBe(1);
});

afterAll(async () => {
  await legacy?.close();
  await v3?.close();
  work?.remove();
});

describe('the CLI', () => {
  it('really wrote the key (so the scan below would see it if it leaked)', () => {
    expect(legacy.emulator.readPartition('client_key').includes(fixture('device.key'))).toBe(true);
    expect(leaks(legacy.emulator.readPartition('client_key').toString('latin1')).length).toBeGreaterThan(0);
    expect(runs.length).toBeGreaterThan(500);
  });

  it('prints none of it: stdout and stderr of every run, successes and failures', () => {
    expect(cliRuns.length).toBe(7);
    for (const { what, run } of cliRuns) {
      expect(leaks(run.stdout), `${what}: stdout`).toEqual([]);
      expect(leaks(run.stderr), `${what}: stderr`).toEqual([]);
    }
  });
});

describe('the daemon, at debug level, with faults', () => {
  let legacyPort: EmulatedPort;
  let v3Port: EmulatedPort;
  let t: TestStation;
  const streams: JobEvent[][] = [];

  /**
   * The answer to the first `command` is held back past the command's timeout (and the wire-time
   * allowance for an 8 KiB answer) and then
   * delivered while no command is waiting: bytes of the key arrive as stray lines.
   */
  function lateAnswer(port: EmulatedPort, command: string): FaultInjector & { released: () => boolean } {
    let holding = false;
    let held: Buffer[] | undefined;
    let released = false;
    return {
      released: () => released,
      onCommand: (line) => {
        if (!released && held === undefined && line.startsWith(command)) {
          holding = true;
          held = [];
        }
      },
      filterOutput: (chunk) => {
        if (!holding) return chunk;
        held!.push(Buffer.from(chunk));
        if (chunk.includes(Buffer.from('\r\nOK\r\n'))) {
          holding = false;
          setTimeout(() => {
            released = true;
            port.emulator.emit('data', Buffer.concat(held!));
          }, 1600);
        }
        return null;
      },
    };
  }

  beforeAll(async () => {
    legacyPort = emulatedPort('k', { fill: 'garbage', seed: 4 });
    v3Port = emulatedPort('n', { firmware: '3.2.0.0' });
    t = await startTestStation({ ports: [{ ...legacyPort, timeoutMs: 300 }, { ...v3Port, timeoutMs: 300 }], config: { logLevel: 'debug' } });
    await eventually(async () => (await t.client.getStatus()).ports.every((p) => p.state === 'up'), 'ports up');
    const keyItems = { kind: 'items' as const, items: [{ type: 'key' as const, pem: keyPem }] };
    const job = async (port: string, partition: string, extra: Record<string, unknown> = {}) => {
      const run = await runJob(t.client, { type: 'update', port, partition, source: keyItems, ...extra } as Parameters<typeof runJob>[1]);
      streams.push(run.events);
      return run;
    };
    expect((await job('k', 'client_key')).view.state).toBe('succeeded');
    expect((await job('n', 'client_key')).view.state).toBe('succeeded');
    // A rewrite whose read-back answer comes late, after the job gave up on it.
    const late = lateAnswer(legacyPort, 'AT+SYSFLASH=2,"client_key"');
    legacyPort.emulator.setFaultInjector(late);
    // The read that timed out is retried (a late answer costs a retry, not the job); its late bytes
    // still arrive as stray lines, which the scan below checks.
    expect((await job('k', 'client_key', { force: true })).view.state, 'late legacy read').toBe('succeeded');
    await eventually(() => late.released(), 'the late answer');
    await new Promise((resolve) => setTimeout(resolve, 100));
    legacyPort.emulator.setFaultInjector(undefined);
    // The same on the mfg_nvs module: the read of the stored key comes late.
    const lateMfg = lateAnswer(v3Port, 'AT+SYSMFG=1,"client_key","client_key.0"');
    v3Port.emulator.setFaultInjector(lateMfg);
    expect((await job('n', 'client_key')).view.state, 'late mfg read').toBe('succeeded');
    await eventually(() => lateMfg.released(), 'the late answer');
    await new Promise((resolve) => setTimeout(resolve, 100));
    v3Port.emulator.setFaultInjector(undefined);
    // And under random faults, several times (failures, retries, recoveries, resets in the log).
    legacyPort.emulator.setFaults({ seed: 99, corrupt: 0.001, drop: 0.0005, busy: 0.05, reset: 0.03, silent: 0.02 });
    v3Port.emulator.setFaults({ seed: 98, corrupt: 0.001, drop: 0.0005, busy: 0.05, reset: 0.03, silent: 0.02 });
    for (let i = 0; i < 4; i++) {
      await job('k', i % 2 ? 'mqtt_key' : 'client_key', { force: true });
      await job('n', i % 2 ? 'mqtt_key' : 'client_key');
    }
    legacyPort.emulator.setFaults(undefined);
    v3Port.emulator.setFaults(undefined);
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    removePorts([legacyPort, v3Port].filter(Boolean));
  });

  it('logged at debug level, with the module misbehaving', () => {
    const log = t.logs.join('');
    expect(log).toContain('"level":"debug"');
    expect(log).toMatch(/AT\+SYSFLASH=1|AT\+SYSMFG=2/);
    // The late answers did arrive as stray lines (logged by their length only).
    expect(log).toContain('"unknownLineLength"');
    expect(streams.some((events) => events.at(-1)?.type === 'end' && !(events.at(-1) as { ok: boolean }).ok)).toBe(true);
  });

  it('the debug log holds none of the key', () => {
    expect(leaks(t.logs.join(''))).toEqual([]);
  });

  it('the journal holds none of it', () => {
    const journal = readFileSync(t.journal, 'utf8');
    expect(journal).toContain('"finished"');
    expect(leaks(journal)).toEqual([]);
  });

  it('the event streams and the job views hold none of it', async () => {
    expect(leaks(JSON.stringify(streams))).toEqual([]);
    expect(leaks(JSON.stringify(await t.client.listJobs()))).toEqual([]);
  });
});

describe('error messages about a garbled answer', () => {
  it('do not quote the bytes of a stored key (a DER key has no line break to stop at)', async () => {
    const { createEmulator, removeEmulator } = await import('../../mock-device/index.js');
    const { EspAtModule } = await import('../../src/flash/module.js');
    const { updateMfgNamespace } = await import('../../src/flash/mfg-update.js');
    const { registerMockScheme } = await import('../support/device.js');
    registerMockScheme();
    const id = `secrets-garbled-${process.pid}`;
    const emulator = createEmulator(id, { chip: 'esp32c3', firmware: '3.2.0.0', mfg: 'empty' });
    const module = await EspAtModule.connect(`mock://esp32c3?id=${id}`, { timeoutMs: 300 });
    try {
      await updateMfgNamespace(module, 'client_key', [der]);
      // Now the answer to the read of the stored key comes back with its header garbled.
      let reading = false;
      emulator.setFaultInjector({
        onCommand: (line) => {
          reading = line === 'AT+SYSMFG=1,"client_key","client_key.0"';
        },
        filterOutput: (chunk) => (reading ? Buffer.from(chunk.toString('latin1').replace('+SYSMFG:', '+SYSMFX:'), 'latin1') : chunk),
      });
      const error = (await updateMfgNamespace(module, 'client_key', [der]).catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/unexpected answer reading client_key\/client_key\.0/);
      expect(leaks(error.message)).toEqual([]);
      // A listing garbled into value bytes: the same.
      emulator.setFaultInjector({
        filterOutput: (chunk) =>
          chunk.toString('latin1').startsWith('+SYSMFG:"client_key","client_key.0",8\r\n')
            ? Buffer.concat([Buffer.from(`+SYSMFG:"client_key","client_key.0",8,${der.length},`, 'latin1'), der.subarray(0, 60), Buffer.from('\r\n\r\nOK\r\n')])
            : chunk,
      });
      const listing = (await updateMfgNamespace(module, 'client_key', [der]).catch((e: unknown) => e)) as Error;
      expect(listing.message).toMatch(/unexpected line in the AT\+SYSMFG key list/);
      expect(leaks(listing.message)).toEqual([]);
    } finally {
      await module.close();
      removeEmulator(id);
    }
  });
});
