/** The station config: defaults, one-line errors, and `at-pki daemon --config` refusing bad files with exit 2. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { CONFIG_DEFAULTS, parseStationConfig } from '../../src/station/config.js';
import { ensureBuilt, expectOneLineError, runCli } from '../cli/harness.js';
import { repoRoot } from '../pki/paths.js';
import { registerMockScheme } from '../support/device.js';

registerMockScheme();

const base = { ports: [{ name: 'a', url: '/dev/ttyUSB0' }] };

function parse(raw: unknown, env: NodeJS.ProcessEnv = {}) {
  return parseStationConfig(raw, { baseDir: '/etc/at-pki', env, source: 'station.json' });
}

function refusal(raw: unknown): string {
  try {
    parse(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected the config to be refused');
}

describe('parseStationConfig', () => {
  it('fills in every default and resolves paths against the config folder', () => {
    const config = parse(base);
    expect(config.ports).toEqual([{ name: 'a', url: '/dev/ttyUSB0', baudRate: 115200, timeoutMs: 3000 }]);
    expect(config.api).toEqual({
      socket: '/etc/at-pki/at-pki.sock',
      tcp: undefined,
      token: undefined,
      maxBodyBytes: 1024 * 1024,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5000,
      maxConnections: 64,
    });
    expect(config.journal).toBe('/etc/at-pki/at-pki-journal.jsonl');
    expect(config.logLevel).toBe('info');
    expect(config.reconnect).toEqual(CONFIG_DEFAULTS.reconnect);
    expect(config.jobs).toEqual({ ...CONFIG_DEFAULTS.jobs, fileRoots: [] });
    expect(config.shutdownGraceMs).toBe(30_000);
  });

  it('puts the default socket in $RUNTIME_DIRECTORY or $XDG_RUNTIME_DIR', () => {
    expect(parse(base, { XDG_RUNTIME_DIR: '/run/user/1000' }).api.socket).toBe('/run/user/1000/at-pki.sock');
    expect(parse(base, { RUNTIME_DIRECTORY: '/run/at-pki', XDG_RUNTIME_DIR: '/run/user/1' }).api.socket).toBe('/run/at-pki/at-pki.sock');
  });

  it('takes every documented field', () => {
    const config = parse({
      ports: [
        { name: 'a', url: '/dev/serial/by-id/usb-1', baud: 921600, timeoutMs: 5000 },
        { name: 'b', url: 'tcp://127.0.0.1:4000' },
      ],
      api: {
        socket: 'run/api.sock',
        tcp: { host: '::1', port: 8735 },
        token: 'x'.repeat(32),
        maxBodyBytes: 65536,
        headersTimeoutMs: 2000,
        requestTimeoutMs: 4000,
        keepAliveTimeoutMs: 1000,
        maxConnections: 16,
      },
      journal: '/var/lib/at-pki/journal.jsonl',
      logLevel: 'debug',
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      jobs: { timeoutMs: 60_000, portWaitMs: 0, history: 10, maxReadBytes: 8192, fileRoots: ['raw_data'] },
      shutdownGraceMs: 0,
    });
    expect(config.ports[0]).toEqual({ name: 'a', url: '/dev/serial/by-id/usb-1', baudRate: 921600, timeoutMs: 5000 });
    expect(config.api).toEqual({
      socket: '/etc/at-pki/run/api.sock',
      tcp: { host: '::1', port: 8735 },
      token: 'x'.repeat(32),
      maxBodyBytes: 65536,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
      maxConnections: 16,
    });
    expect(config.jobs.fileRoots).toEqual(['/etc/at-pki/raw_data']);
    expect(config.jobs.portWaitMs).toBe(0);
  });

  it.each([
    [{}, /ports: is required/],
    [{ ports: [] }, /ports: must be a non-empty list/],
    [{ ...base, prots: 1 }, /prots: unknown field/],
    [{ ports: [{ name: 'a', url: 'ttyUSB0' }] }, /ports\[0\]\.url: .*did you mean \/dev\/ttyUSB0/],
    [{ ports: [{ name: 'a b', url: '/dev/x' }] }, /ports\[0\]\.name: 'a b' must be/],
    [{ ports: [{ name: 'a', url: '/dev/x' }, { name: 'a', url: '/dev/y' }] }, /ports\[1\]\.name: 'a' is used twice/],
    [{ ports: [{ name: 'a', url: '/dev/x' }, { name: 'b', url: '/dev/x' }] }, /ports\[1\]\.url: .* used by two ports/],
    [{ ports: [{ name: 'a', url: '/dev/x', baud: '115200' }] }, /ports\[0\]\.baud: must be a whole number/],
    [{ ports: [{ name: 'a', url: '/dev/x', speed: 1 }] }, /ports\[0\]\.speed: unknown field/],
    [{ ...base, api: { tcp: { host: '0.0.0.0', port: 80 }, token: 'x'.repeat(20) } }, /api\.tcp\.host: '0\.0\.0\.0' is not a loopback address/],
    [{ ...base, api: { tcp: { host: '127.0.0.1', port: 80 } } }, /api\.token: is required when api\.tcp is set/],
    [{ ...base, api: { tcp: { port: 80 }, token: 'short' } }, /api\.token: the token must be at least 16 characters/],
    [{ ...base, api: { socket: false } }, /api: the socket is disabled and no tcp listener/],
    [{ ...base, api: { socket: `/${'x'.repeat(120)}` } }, /api\.socket: .* at most 103/],
    [{ ...base, api: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }, /api\.requestTimeoutMs: must be at least api\.headersTimeoutMs \(5000\)/],
    [{ ...base, api: { maxConnections: 0 } }, /api\.maxConnections: must be a whole number between 4 and 10000/],
    [{ ...base, logLevel: 'loud' }, /logLevel: 'loud' is not one of/],
    [{ ...base, reconnect: { initialDelayMs: 1000, maxDelayMs: 500 } }, /reconnect\.maxDelayMs: must be at least/],
    [{ ...base, jobs: { timeoutMs: -1 } }, /jobs\.timeoutMs: must be a whole number/],
    [{ ...base, jobs: { fileRoots: 'raw_data' } }, /jobs\.fileRoots: must be a list/],
    [[], /must be an object, got a list/],
  ])('refuses %j in one line naming the field', (raw, expected) => {
    const message = refusal(raw);
    expect(message).toMatch(/^station\.json: /);
    expect(message).toMatch(expected);
  });

  it('accepts examples/station.json', () => {
    const config = parseStationConfig(JSON.parse(readFileSync(join(repoRoot, 'examples/station.json'), 'utf8')), { source: 'examples/station.json' });
    expect(config.ports.map((p) => p.name)).toEqual(['bay1', 'bay2', 'bay3']);
    expect(config.api.socket).toBe('/run/at-pki/api.sock');
  });

  it('never prints the token in an error', () => {
    const message = refusal({ ...base, api: { tcp: { port: 1 }, token: 'secret token value' } });
    expect(message).not.toContain('secret');
  });
});

describe('at-pki daemon --config', () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'atpki-cfg-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 with one line for a bad config, a missing file, or bad JSON', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ports: [{ name: 'a', url: 'COM3' }] }));
    expectOneLineError(runCli(['daemon', '--config', join(dir, 'bad.json')]), 2, /bad\.json: ports\[0\]\.url: /);
    expectOneLineError(runCli(['daemon', '--config', join(dir, 'missing.json')]), 2, /cannot read config .*missing\.json: no such file/);
    writeFileSync(join(dir, 'broken.json'), '{ "ports": [');
    expectOneLineError(runCli(['daemon', '--config', join(dir, 'broken.json')]), 2, /broken\.json: not valid JSON/);
  });

  it('--check prints what would run and exits 0 without starting', () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ ports: [{ name: 'a', url: 'mock://esp32c3' }], api: { socket: 'api.sock' } }));
    const run = runCli(['daemon', '--config', join(dir, 'ok.json'), '--check']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ok.json: OK');
    expect(run.stdout).toContain('ports: a=mock://esp32c3');
    expect(run.stdout).toContain(`socket ${join(dir, 'api.sock')}`);
  });
});
