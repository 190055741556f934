import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../mock-device/cli-options.js';
import { parseMockUrl } from '../../mock-device/mock-url.js';

describe('parseMockUrl', () => {
  it('reads every option', () => {
    const parsed = parseMockUrl(
      'mock://esp32c3?fw=2.4.0.0&fill=garbage&seed=7&timing=line,flash&id=unit1&state=/tmp/x.bin&boot=0&baud=921600&bootMs=50&eraseMs=10&pageMs=0.5&mac=24:0a:c4:00:00:01&stamac=02:00:00:00:00:02',
    );
    expect(parsed).toEqual({
      chip: 'esp32c3',
      id: 'unit1',
      statePath: '/tmp/x.bin',
      boot: false,
      emulator: {
        chip: 'esp32c3',
        firmware: '2.4.0.0',
        fill: 'garbage',
        seed: 7,
        lineTiming: true,
        flashTiming: { sectorEraseMs: 10, pageProgramMs: 0.5 },
        baudRate: 921600,
        bootDelayMs: 50,
        name: 'unit1',
        mac: '24:0a:c4:00:00:01',
        stationMac: '02:00:00:00:00:02',
      },
    });
  });

  it('defaults: no timing, boot on; eraseMs alone does not switch flash timing on', () => {
    const parsed = parseMockUrl('mock://esp8266-1mb?eraseMs=3');
    expect(parsed.boot).toBe(true);
    expect(parsed.emulator).toEqual({ chip: 'esp8266-1mb' });
    expect(parseMockUrl('mock://esp32?eraseMs=3&timing=flash').emulator.flashTiming).toEqual({ sectorEraseMs: 3 });
    expect(parseMockUrl('mock://esp32?timing=off').emulator.lineTiming).toBe(false);
  });

  it('rejects unknown chips, options and values', () => {
    expect(() => parseMockUrl('mock://esp32s3')).toThrow(/unknown chip/);
    expect(() => parseMockUrl('mock://esp32?speed=1')).toThrow(/unknown option/);
    expect(() => parseMockUrl('mock://esp32?fill=zeros')).toThrow(/fill must be/);
    expect(() => parseMockUrl('mock://esp32?timing=fast')).toThrow(/timing/);
    expect(() => parseMockUrl('mock://esp32?boot=yes')).toThrow(/boot/);
    expect(() => parseMockUrl('mock://esp32?seed=-1')).toThrow(/seed/);
    expect(() => parseMockUrl('tcp://esp32')).toThrow(/mock:/);
  });
});

describe('parseCliArgs', () => {
  it('parses --pty with device options', () => {
    expect(parseCliArgs(['--chip', 'esp32c3', '--fw', '2.4.0.0', '--fill', 'garbage', '--seed', '9', '--timing', 'line,flash', '--baud', '921600', '--state', 'f.bin', '--pty'])).toEqual({
      kind: 'serve',
      mode: 'pty',
      tcpPort: 0,
      statePath: 'f.bin',
      emulator: { chip: 'esp32c3', firmware: '2.4.0.0', fill: 'garbage', seed: 9, lineTiming: true, flashTiming: true, baudRate: 921600 },
    });
  });

  it('--tcp takes an optional port', () => {
    expect(parseCliArgs(['--tcp'])).toMatchObject({ kind: 'serve', mode: 'tcp', tcpPort: 0 });
    expect(parseCliArgs(['--tcp', '4000'])).toMatchObject({ kind: 'serve', mode: 'tcp', tcpPort: 4000 });
    expect(parseCliArgs(['--tcp=4001', '--chip', 'esp8266'])).toMatchObject({ mode: 'tcp', tcpPort: 4001, emulator: { chip: 'esp8266' } });
  });

  it('--faults and --fault-seed configure fault injection', () => {
    const parsed = parseCliArgs(['--pty', '--faults', 'drop:0.01,reset~SYSFLASH=1@2', '--fault-seed', '42']);
    expect(parsed).toMatchObject({ kind: 'serve', emulator: { faults: { drop: { p: 0.01 }, reset: { at: [2], match: 'SYSFLASH=1' }, seed: 42 } } });
    expect(parseCliArgs(['--pty', '--faults', 'nonsense:x'])).toMatchObject({ kind: 'error', message: /--faults/ });
    expect(parseCliArgs(['--pty', '--fault-seed', '-1'])).toMatchObject({ kind: 'error', message: /--fault-seed/ });
  });

  it('help and errors', () => {
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs([])).toMatchObject({ kind: 'error', message: /exactly one/ });
    expect(parseCliArgs(['--pty', '--tcp'])).toMatchObject({ kind: 'error' });
    expect(parseCliArgs(['--pty', '4000'])).toMatchObject({ kind: 'error' });
    expect(parseCliArgs(['--tcp', 'x'])).toMatchObject({ kind: 'error' });
    expect(parseCliArgs(['--pty', '--chip', 'esp99'])).toMatchObject({ kind: 'error', message: /unknown chip/ });
    expect(parseCliArgs(['--pty', '--fw', '9'])).toMatchObject({ kind: 'error', message: /known/ });
    expect(parseCliArgs(['--pty', '--bogus'])).toMatchObject({ kind: 'error' });
  });
});
