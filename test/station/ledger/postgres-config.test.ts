/** The daemon's `station` section with a PostgreSQL ledger: the URL must not carry a password; the password file is a path. */
import { describe, expect, it } from 'vitest';
import { parseStationConfig } from '../../../src/station/config.js';

function parse(station: Record<string, unknown>) {
  return parseStationConfig({ ports: [{ name: 'bay1', url: '/dev/ttyUSB0' }], station: { batch: 'lot7', ...station } }, { baseDir: '/etc/at-pki', env: {}, source: 'station.json' });
}

describe('station config with a PostgreSQL ledger', () => {
  it('keeps the URL as it is and resolves the password file against the config folder', () => {
    const config = parse({ ledger: 'postgres://atpki@db.factory/ledger', ledgerPasswordFile: 'ledger.pw' });
    expect(config.station).toMatchObject({ ledger: 'postgres://atpki@db.factory/ledger', ledgerPasswordFile: '/etc/at-pki/ledger.pw' });
  });

  it('refuses a URL that carries a password, without repeating it', () => {
    let message = '';
    try {
      parse({ ledger: 'postgres://atpki:hunter2@db.factory/ledger' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/station\.ledger.*carries a password/);
    expect(message).not.toContain('hunter2');
  });
});
