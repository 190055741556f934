/**
 * The `station` section of the daemon's config: station mode, where each bay provisions the unit
 * plugged into it automatically.
 *
 *     "station": {
 *       "ledger": "ledger.sqlite",          // a path (SQLite) or postgres://user@host/db (no password in it)
 *       "ledgerPasswordFile": "/etc/at-pki/ledger.pw",  // PostgreSQL; else AT_PKI_LEDGER_PASSWORD or PGPASSWORD
 *       "name": "line-1",                   // default: the host name
 *       "batch": "lot7",                    // ready-made sets of an imported batch, or:
 *       "issue": { "caCert": "ca.pem", "caKey": "ca.key", "passphraseEnv": "CA_PASS", "keyType": "ec-p256", "days": 3650, "subject": "CN={mac}", "batch": "…" },
 *       "bays": ["bay1", "bay2"],           // default: every port
 *       "pollMs": 1000                      // how often a bay asks whether its unit is still there
 *     }
 */
import { isAbsolute, resolve } from 'node:path';
import { parsePostgresUrl } from './ledger/postgres-url.js';

export interface IssueConfig {
  caCert: string;
  caKey: string;
  passphraseEnv?: string;
  passphraseFile?: string;
  keyType?: 'ec-p256' | 'rsa-2048';
  days?: number;
  subject?: string;
  batch?: string;
}

export interface StationModeConfig {
  ledger: string;
  /** PostgreSQL: the file holding the password (never the URL, never the config itself). */
  ledgerPasswordFile?: string;
  name: string | undefined;
  batch: string | undefined;
  issue: IssueConfig | undefined;
  /** Port names that are bays. */
  bays: string[];
  pollMs: number;
}

type Fail = (path: string, message: string) => never;

export function parseStationModeConfig(raw: unknown, ports: readonly string[], baseDir: string, fail: Fail): StationModeConfig {
  const at = 'station';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(at, 'must be an object');
  const section = raw as Record<string, unknown>;
  const allowed = ['ledger', 'ledgerPasswordFile', 'name', 'batch', 'issue', 'bays', 'pollMs', '$comment'];
  for (const key of Object.keys(section)) if (!allowed.includes(key)) fail(`${at}.${key}`, `unknown field (allowed here: ${allowed.slice(0, -1).join(', ')})`);
  const text = (value: unknown, path: string): string => {
    if (typeof value !== 'string' || value === '') fail(path, value === undefined ? 'is required' : 'must be a non-empty string');
    return value as string;
  };
  const path = (value: string): string => (isAbsolute(value) || /^postgres(ql)?:\/\//i.test(value) ? value : resolve(baseDir, value));
  const ledger = path(text(section.ledger, `${at}.ledger`));
  if (/^postgres(ql)?:\/\//i.test(ledger)) {
    try {
      parsePostgresUrl(ledger);
    } catch (error) {
      fail(`${at}.ledger`, (error as Error).message);
    }
  }
  const ledgerPasswordFile = section.ledgerPasswordFile === undefined ? undefined : path(text(section.ledgerPasswordFile, `${at}.ledgerPasswordFile`));
  const name = section.name === undefined ? undefined : text(section.name, `${at}.name`);
  const batch = section.batch === undefined ? undefined : text(section.batch, `${at}.batch`);
  let issue: IssueConfig | undefined;
  if (section.issue !== undefined) {
    const p = `${at}.issue`;
    if (typeof section.issue !== 'object' || section.issue === null || Array.isArray(section.issue)) fail(p, 'must be an object');
    const i = section.issue as Record<string, unknown>;
    const known = ['caCert', 'caKey', 'passphraseEnv', 'passphraseFile', 'keyType', 'days', 'subject', 'batch'];
    for (const key of Object.keys(i)) if (!known.includes(key)) fail(`${p}.${key}`, `unknown field (allowed here: ${known.join(', ')}; the passphrase itself never goes into the config)`);
    if (i.passphraseEnv !== undefined && i.passphraseFile !== undefined) fail(`${p}.passphraseEnv`, 'give passphraseEnv or passphraseFile, not both');
    if (i.keyType !== undefined && i.keyType !== 'ec-p256' && i.keyType !== 'rsa-2048') fail(`${p}.keyType`, "must be 'ec-p256' or 'rsa-2048'");
    if (i.days !== undefined && (typeof i.days !== 'number' || !Number.isInteger(i.days) || i.days < 1)) fail(`${p}.days`, 'must be a whole number ≥ 1');
    issue = {
      caCert: path(text(i.caCert, `${p}.caCert`)),
      caKey: path(text(i.caKey, `${p}.caKey`)),
      ...(i.passphraseEnv !== undefined ? { passphraseEnv: text(i.passphraseEnv, `${p}.passphraseEnv`) } : {}),
      ...(i.passphraseFile !== undefined ? { passphraseFile: path(text(i.passphraseFile, `${p}.passphraseFile`)) } : {}),
      ...(i.keyType !== undefined ? { keyType: i.keyType as IssueConfig['keyType'] } : {}),
      ...(i.days !== undefined ? { days: i.days as number } : {}),
      ...(i.subject !== undefined ? { subject: text(i.subject, `${p}.subject`) } : {}),
      ...(i.batch !== undefined ? { batch: text(i.batch, `${p}.batch`) } : {}),
    };
  }
  if ((batch === undefined) === (issue === undefined)) fail(at, 'give exactly one credential source: "batch" (an imported batch) or "issue" (a factory CA)');
  let bays = [...ports];
  if (section.bays !== undefined) {
    if (!Array.isArray(section.bays) || section.bays.length === 0) fail(`${at}.bays`, 'must be a non-empty list of port names');
    bays = (section.bays as unknown[]).map((bay, i) => {
      const bayName = text(bay, `${at}.bays[${i}]`);
      if (!ports.includes(bayName)) fail(`${at}.bays[${i}]`, `'${bayName}' is not a configured port (${ports.join(', ')})`);
      return bayName;
    });
  }
  const pollMs = section.pollMs === undefined ? 1000 : section.pollMs;
  if (typeof pollMs !== 'number' || !Number.isInteger(pollMs) || pollMs < 50 || pollMs > 600_000) fail(`${at}.pollMs`, 'must be a whole number between 50 and 600000');
  return { ledger, ...(ledgerPasswordFile !== undefined ? { ledgerPasswordFile } : {}), name, batch, issue, bays, pollMs: pollMs as number };
}
