/**
 * The emulator's fault knobs at the wire level: each knob as a chosen position and as a
 * probability, reproducibility from the seed, and the `faults=` URL syntax.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMockTransport,
  EspAtEmulator,
  parseFaultSpec,
  parseMockUrl,
  RandomFaults,
  resetEmulators,
  SECTOR_SIZE,
  formatFaultSpec,
  type FaultOptions,
} from '../../mock-device/index.js';
import { Collector } from '../mock-device/transport-helpers.js';
import { bytes, quietEmulator, Wire } from '../mock-device/wire.js';

afterEach(() => resetEmulators());

/** A quiet (ATE0) emulator with faults installed after the handshake, so positions count from here. */
async function faulty(faults: FaultOptions, options: ConstructorParameters<typeof EspAtEmulator>[0] = {}): Promise<{ wire: Wire; faults: RandomFaults }> {
  const wire = await quietEmulator({ chip: 'esp32', ...options });
  const installed = wire.emulator.setFaults(faults)!;
  wire.emulator.resetStats();
  return { wire, faults: installed };
}

/** Payload bytes that are not 0xFF anywhere, so partial programming is visible. */
function pattern(length: number, seed = 3): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = ((i * 31 + seed) % 255) & 0xfe;
  return out;
}

describe('faults= syntax', () => {
  it('parses probabilities, positions and match texts, and prints them back', () => {
    const options = parseFaultSpec('drop:0.001,corruptOut:0.0005,busy:0.01,reset~SYSFLASH=1@2,reset~SYSFLASH=1@5,powerCut:0.1');
    expect(options).toEqual({
      drop: { p: 0.001 },
      corruptOut: { p: 0.0005 },
      busy: { p: 0.01 },
      reset: { match: 'SYSFLASH=1', at: [2, 5] },
      powerCut: { p: 0.1 },
    });
    expect(parseFaultSpec(formatFaultSpec(options))).toEqual(options);
  });

  it('refuses unknown knobs, probabilities outside 0…1 and malformed items', () => {
    expect(() => parseFaultSpec('dorp:0.1')).toThrow(/unknown fault "dorp"/);
    expect(() => parseFaultSpec('drop:1.5')).toThrow(/between 0 and 1/);
    expect(() => parseFaultSpec('busy:x')).toThrow(/between 0 and 1/);
    expect(() => parseFaultSpec('busy')).toThrow(/expected <knob>:<probability>/);
    expect(() => parseFaultSpec('reset@0')).toThrow(/≥ 1/);
    expect(() => parseFaultSpec('drop~SYSFLASH:0.1')).toThrow(/command faults only/);
  });

  it('mock:// takes faults= and faultSeed= (in either order) and rejects bad ones as PORT_UNAVAILABLE', () => {
    expect(parseMockUrl('mock://esp32?faultSeed=42&faults=drop:0.001,busy@3').emulator.faults).toEqual({
      seed: 42,
      drop: { p: 0.001 },
      busy: { at: [3] },
    });
    expect(parseMockUrl('mock://esp32?faults=error:0.5&faultSeed=7').emulator.faults).toEqual({ seed: 7, error: { p: 0.5 } });
    expect(() => parseMockUrl('mock://esp32?faults=explode:1')).toThrow(expect.objectContaining({ code: 'PORT_UNAVAILABLE', message: expect.stringMatching(/unknown fault "explode"/) }));
    expect(() => parseMockUrl('mock://esp32?faultSeed=-1')).toThrow(expect.objectContaining({ code: 'PORT_UNAVAILABLE' }));
  });

  it('a mock:// port with faults= misbehaves as told', async () => {
    const transport = await createMockTransport(new URL('mock://esp32c3?faults=busy@2&faultSeed=5'), { baudRate: 115200, timeoutMs: 1000 });
    const rx = new Collector(transport);
    await rx.waitFor('ready');
    await transport.write(bytes('AT\r\n'));
    await rx.waitFor('AT\r\n\r\nOK\r\n');
    rx.clear();
    await transport.write(bytes('AT\r\n'));
    expect(await rx.waitFor('busy p...\r\n')).toBe('AT\r\n\r\nbusy p...\r\n');
    expect((transport.emulator.faultInjector as RandomFaults).counts.busy).toBe(1);
    await transport.close();
  });
});

describe('byte faults', () => {
  it('dropIn@n loses exactly that byte of what the host sent', async () => {
    const { wire, faults } = await faulty({ dropIn: { at: 0 } });
    // "AT+GMR" without its "A" is not an AT command.
    expect(await wire.exchange('AT+GMR\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
    expect(faults.counts.dropIn).toBe(1);
    expect(wire.emulator.stats.bytesReceived).toBe(7 + 4);
  });

  it('dropOut@n loses exactly that byte of what the module sent', async () => {
    const { wire } = await faulty({ dropOut: { at: 2 } });
    expect(await wire.exchange('AT\r\n')).toBe('\r\nK\r\n');
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
  });

  it('drop@n acts on both streams, each counted on its own', async () => {
    const { wire, faults } = await faulty({ drop: { at: 3 } });
    // In: "AT\r\n" loses its "\n" (input byte 3): no command yet; a lone "\n" completes it.
    expect(await wire.exchange('AT\r\n')).toBe('');
    // Out: the answer loses its "K" (output byte 3).
    expect(await wire.exchange('\n')).toBe('\r\nO\r\n');
    expect(faults.counts.drop).toBe(2);
  });

  it('corruptIn@n and corruptOut@n change exactly one byte, in place', async () => {
    const { wire, faults } = await faulty({ corruptIn: { at: 1 }, corruptOut: { at: 3 } });
    // "AT" with its "T" changed is no command the module knows (no "AT" prefix → ERROR).
    const reply = Buffer.from(await wire.exchange('AT\r\n'), 'latin1');
    expect(reply.length).toBe('\r\nERROR\r\n'.length);
    const expected = bytes('\r\nERROR\r\n');
    const diff = [...reply].map((b, i) => (b !== expected[i] ? i : -1)).filter((i) => i >= 0);
    expect(diff).toEqual([3]);
    expect(faults.counts.corruptIn).toBe(1);
    expect(faults.counts.corruptOut).toBe(1);
  });

  it('drop:p and corrupt:p hit about p of the bytes, at the same positions for the same seed however chunked', async () => {
    const data = Buffer.alloc(200_000, 0x55);
    const run = (seed: number, chunk: number): { out: Buffer; faults: RandomFaults } => {
      const faults = new RandomFaults({ seed, dropIn: 0.01, corruptIn: 0.01 });
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; i += chunk) parts.push(faults.filterInput(data.subarray(i, i + chunk)) ?? Buffer.alloc(0));
      return { out: Buffer.concat(parts), faults };
    };
    const a = run(42, 4096);
    const b = run(42, 97);
    const c = run(43, 4096);
    expect(a.out.equals(b.out)).toBe(true);
    expect(a.out.equals(c.out)).toBe(false);
    expect(a.faults.counts.dropIn).toBeGreaterThan(1700);
    expect(a.faults.counts.dropIn).toBeLessThan(2300);
    expect(a.out.length).toBe(data.length - a.faults.counts.dropIn);
    const corrupted = [...a.out].filter((byte) => byte !== 0x55).length;
    expect(corrupted).toBeGreaterThan(1600);
    expect(corrupted).toBeLessThan(2300);
    // Nothing happens to the other direction.
    expect(a.faults.filterOutput(Buffer.from('\r\nOK\r\n'))).toEqual(Buffer.from('\r\nOK\r\n'));
  });
});

describe('command faults', () => {
  it('busy@n answers busy p... (with its ERR CODE under SYSLOG) instead of running the command', async () => {
    const wire = await quietEmulator({ chip: 'esp32' }, true);
    const faults = wire.emulator.setFaults({ busy: { at: 1 } })!;
    expect(await wire.exchange('ATE1\r\n')).toBe('ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n');
    expect(wire.emulator.echo).toBe(false);
    expect(wire.emulator.stats.busyReplies).toBe(1);
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
    expect(faults.counts.busy).toBe(1);
  });

  it('error@n answers ERROR and does not run the command', async () => {
    const { wire } = await faulty({ error: { at: 1 } });
    expect(await wire.exchange('ATE1\r\n')).toBe('\r\nERROR\r\n');
    expect(wire.emulator.echo).toBe(false);
    expect(await wire.exchange('ATE1\r\n')).toBe('\r\nOK\r\n');
    expect(wire.emulator.echo).toBe(true);
  });

  it('error on a write comes before the prompt: no data mode, flash untouched', async () => {
    const { wire } = await faulty({ error: { match: 'SYSFLASH=1', at: 1 } });
    const before = wire.emulator.flashImage();
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\n')).toBe('\r\nERROR\r\n');
    expect(wire.emulator.state).toBe('command');
    expect(wire.emulator.flashImage().equals(before)).toBe(true);
  });

  it('silent@n swallows the command: no answer, and the next one works', async () => {
    const { wire, faults } = await faulty({ silent: { at: 1 } });
    expect(await wire.exchange('AT+GMR\r\n')).toBe('');
    expect(wire.emulator.state).toBe('command');
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
    expect(faults.counts.silent).toBe(1);
  });

  it('match= picks the n-th matching command only', async () => {
    const { wire } = await faulty({ error: { match: 'SYSFLASH?', at: 2 } });
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSFLASH?\r\n')).toMatch(/\r\nOK\r\n$/);
    expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSFLASH?\r\n')).toBe('\r\nERROR\r\n');
    expect(await wire.exchange('AT+SYSFLASH?\r\n')).toMatch(/\r\nOK\r\n$/);
  });

  it('busy:p / error:p / silent:p fire on about p of the commands, reproducibly', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => (i % 2 ? 'AT' : 'AT+SYSFLASH=2,"client_cert",0,4096'));
    const outcomes = (seed: number): string => {
      const faults = new RandomFaults({ seed, busy: 0.05, error: 0.05, silent: 0.05 });
      return lines.map((line) => faults.onCommand(line)?.kind ?? '-').join('');
    };
    const a = outcomes(9);
    expect(outcomes(9)).toBe(a);
    expect(outcomes(10)).not.toBe(a);
    for (const kind of ['busy', 'error', 'silent']) {
      const n = a.split(kind).length - 1;
      expect(n, kind).toBeGreaterThan(120);
      expect(n, kind).toBeLessThan(300);
    }
  });

  it('disconnect@n unplugs the module: the in-process transport closes with DISCONNECTED', async () => {
    const transport = await createMockTransport(new URL('mock://esp32?faults=disconnect~GMR@1'), { baudRate: 115200, timeoutMs: 1000 });
    const rx = new Collector(transport);
    await rx.waitFor('ready');
    const closed = new Promise<unknown>((resolve) => transport.once('close', resolve));
    await transport.write(bytes('AT\r\n'));
    await rx.waitFor('OK');
    await transport.write(bytes('AT+GMR\r\n'));
    const error = await closed;
    expect(error).toMatchObject({ code: 'DISCONNECTED' });
    expect(transport.isOpen).toBe(false);
    expect(transport.emulator.powered).toBe(false);
    await expect(transport.write(bytes('AT\r\n'))).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});

describe('reset mid-command', () => {
  it('during the data phase: ready, echo back on, out of data mode, nothing of the payload programmed', async () => {
    const wire = await quietEmulator({ chip: 'esp32' });
    wire.emulator.setFaultInjector({ onCommand: (line) => (line.startsWith('AT+SYSFLASH=1') ? { kind: 'reset', afterDataBytes: () => 100 } : undefined) });
    const before = wire.emulator.readPartition('client_cert');
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,256\r\n')).toBe('>');
    expect(await wire.exchange(pattern(64))).toBe('');
    expect(await wire.exchange(pattern(64))).toBe('\r\nready\r\n');
    expect(wire.emulator.state).toBe('command');
    expect(wire.emulator.echo).toBe(true);
    expect(wire.emulator.readPartition('client_cert').equals(before)).toBe(true);
    // Not in data mode any more: a command is a command.
    expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
  });

  it('during programming: the chunk stays partially written, as on real NOR flash', async () => {
    const wire = await quietEmulator({ chip: 'esp32' });
    wire.emulator.setFaultInjector({ onCommand: (line) => (line.startsWith('AT+SYSFLASH=1') ? { kind: 'reset', flashCut: () => ({ done: 1000 }) } : undefined) });
    const payload = pattern(4096);
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4096\r\n')).toBe('>');
    expect(await wire.exchange(payload)).toBe('\r\nready\r\n');
    const after = wire.emulator.readPartition('client_cert');
    expect(after.subarray(0, 1000)).toEqual(payload.subarray(0, 1000));
    expect(after.subarray(1000, 4096).every((b) => b === 0xff)).toBe(true);
    expect(wire.emulator.stats.flashBytesWritten).toBe(0);
  });

  it('after the work, before the answer: a read prints nothing but ready', async () => {
    const { wire } = await faulty({ reset: { match: 'SYSFLASH=2', at: 1 } });
    // Whatever phase the seed picked, a read has no data phase and no flash work.
    expect(await wire.exchange('AT+SYSFLASH=2,"client_cert",0,16\r\n')).toBe('\r\nready\r\n');
    expect(wire.emulator.echo).toBe(true);
  });

  it('reset:p on writes leaves each chunk as a prefix of the payload followed by erased bytes', async () => {
    const payload = pattern(2048, 7);
    let partial = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const { wire } = await faulty({ seed, reset: { match: 'SYSFLASH=1', p: 1 } });
      await wire.exchange('AT+SYSFLASH=0,"client_cert"\r\n');
      const prompt = await wire.exchange('AT+SYSFLASH=1,"client_cert",0,2048\r\n');
      const reply = prompt === '>' ? await wire.exchange(payload) : prompt;
      expect(reply).toMatch(/ready\r\n$/);
      expect(reply).not.toMatch(/OK/);
      const after = wire.emulator.readPartition('client_cert').subarray(0, 2048);
      let k = 0;
      while (k < 2048 && after[k] === payload[k]) k++;
      expect(after.subarray(k).every((b) => b === 0xff), `seed ${seed}`).toBe(true);
      if (k > 0 && k < 2048) partial++;
      wire.emulator.dispose();
    }
    expect(partial).toBeGreaterThan(0);
  });
});

describe('powerCut (power loss in the middle of an erase)', () => {
  it('some sectors erased, the one in progress half-erased, the rest untouched; the module reboots', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) {
      const { wire, faults } = await faulty({ seed, powerCut: { at: 1 } }, { fill: 'garbage', seed: 99 });
      const label = 'fatfs';
      const before = wire.emulator.readPartition(label);
      // Not an erase: not counted, not cut.
      expect(await wire.exchange('AT\r\n')).toBe('\r\nOK\r\n');
      expect(await wire.exchange(`AT+SYSFLASH=0,"${label}"\r\n`)).toBe('\r\nready\r\n');
      expect(faults.counts.powerCut).toBe(1);
      const after = wire.emulator.readPartition(label);
      const sectors = after.length / SECTOR_SIZE;
      const states: string[] = [];
      for (let s = 0; s < sectors; s++) {
        const a = after.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        const b = before.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        if (a.every((x) => x === 0xff)) states.push('E');
        else if (a.equals(b)) states.push('U');
        else {
          // Half-erased: only bits going back to 1.
          expect([...a].every((x, i) => (x & b[i]!) === b[i])).toBe(true);
          states.push('T');
        }
      }
      // Erased sectors first, then at most one torn sector, then untouched ones; never all erased.
      const text = states.join('');
      expect(text).toMatch(/^E*T?U*$/);
      expect(text).not.toMatch(/^E+$/);
      outcomes.add(text.replace(/E+/, 'E').replace(/U+/, 'U'));
      // Rebooted: echo back on, AT answers.
      expect(await wire.exchange('AT\r\n')).toBe('AT\r\n\r\nOK\r\n');
      wire.emulator.dispose();
    }
    // Across seeds the cut lands at different places: some with erased sectors before it.
    expect([...outcomes].some((o) => o.startsWith('E'))).toBe(true);
  });

  it('only erases are cut: writes and reads under powerCut:1 complete', async () => {
    const { wire } = await faulty({ powerCut: 1 });
    expect(await wire.exchange('AT+SYSFLASH=1,"client_cert",0,4\r\n')).toBe('>');
    expect(await wire.exchange('abcd')).toBe('\r\nOK\r\n');
    expect(await wire.exchange('AT+SYSFLASH=2,"client_cert",0,4\r\n')).toBe('+SYSFLASH:4,abcd\r\nOK\r\n');
  });
});
