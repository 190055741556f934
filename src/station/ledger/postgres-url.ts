/**
 * `--ledger postgres://user@host:port/db?host=/socket/dir&sslmode=require` → connection settings,
 * and where the password comes from. A password never travels in the URL: a command line is
 * visible to every user of the machine (ps) and URLs end up in logs, so a URL with one is refused;
 * the password comes from `--ledger-password-file FILE`, `AT_PKI_LEDGER_PASSWORD` or libpq's
 * `PGPASSWORD` (or ~/.pgpass, which pg reads itself when no password is given).
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.js';

export const LEDGER_PASSWORD_ENV = 'AT_PKI_LEDGER_PASSWORD';

export interface PostgresTarget {
  /** Host name, or the folder holding the server's unix socket. @default libpq's (PGHOST, else /var/run/postgresql) */
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  /** `sslmode=require|verify-ca|verify-full` → TLS; `disable` or absent → none. */
  ssl?: { rejectUnauthorized: boolean };
  applicationName?: string;
  /** The URL as given, safe to print (it holds no password). */
  display: string;
}

const URL_PATTERN = /^(postgres(?:ql)?):\/\/(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i;
const KNOWN_PARAMS = new Set(['host', 'port', 'user', 'dbname', 'sslmode', 'application_name']);

/** Parse a ledger URL; InputError (exit 2) when it is malformed or carries a password. */
export function parsePostgresUrl(spec: string): PostgresTarget {
  const match = URL_PATTERN.exec(spec.trim());
  if (!match) throw new InputError(`--ledger ${redactLedgerUrl(spec)} is not a postgres://user@host/database URL`);
  const [, , userinfo, hostport, path, query] = match;
  if (userinfo !== undefined && userinfo.includes(':')) {
    throw new InputError(
      `the ledger URL carries a password: remove it from the URL and put it in ${LEDGER_PASSWORD_ENV} (or PGPASSWORD) or a file named by --ledger-password-file; a URL on a command line is visible to every user and ends up in logs`,
      { details: { ledger: redactLedgerUrl(spec) } },
    );
  }
  const params = new URLSearchParams(query ?? '');
  if (params.has('password')) {
    throw new InputError(`the ledger URL carries a password parameter: put the password in ${LEDGER_PASSWORD_ENV} or --ledger-password-file instead`, {
      details: { ledger: redactLedgerUrl(spec) },
    });
  }
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw new InputError(`the ledger URL has an unknown parameter '${key}' (known: ${[...KNOWN_PARAMS].join(', ')})`);
  }
  const target: PostgresTarget = { display: spec.trim() };
  const { host, port } = splitHostPort(hostport ?? '', spec);
  const socketOrHost = params.get('host') ?? host;
  if (socketOrHost) target.host = socketOrHost;
  const portText = params.get('port') ?? port;
  if (portText) {
    const n = Number(portText);
    if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new InputError(`the ledger URL's port '${portText}' is not a port number`);
    target.port = n;
  }
  const user = params.get('user') ?? (userinfo ? decodeURIComponent(userinfo) : undefined);
  if (user) target.user = user;
  const database = params.get('dbname') ?? (path ? decodeURIComponent(path) : undefined);
  if (database) target.database = database;
  const sslmode = params.get('sslmode');
  if (sslmode !== null) {
    if (!['disable', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(sslmode)) throw new InputError(`the ledger URL's sslmode '${sslmode}' is unknown`);
    if (sslmode === 'require') target.ssl = { rejectUnauthorized: false };
    if (sslmode === 'verify-ca' || sslmode === 'verify-full') target.ssl = { rejectUnauthorized: true };
  }
  const applicationName = params.get('application_name');
  if (applicationName) target.applicationName = applicationName;
  return target;
}

function splitHostPort(hostport: string, spec: string): { host?: string; port?: string } {
  if (hostport === '') return {};
  if (hostport.includes(',')) throw new InputError(`the ledger URL ${redactLedgerUrl(spec)} names several hosts; give one`);
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(hostport);
  if (v6) return v6[2] ? { host: v6[1]!, port: v6[2] } : { host: v6[1]! };
  const [host, port] = hostport.split(':');
  return port === undefined ? { host: decodeURIComponent(host!) } : { host: decodeURIComponent(host!), port };
}

/** The URL with any password replaced by `***`, for messages and logs. */
export function redactLedgerUrl(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/[^:@/?\s]*):[^@/?\s]*@/gi, '$1:***@')
    .replace(/([?&]password=)[^&\s]*/gi, '$1***');
}

export interface PasswordSources {
  /** `--ledger-password-file FILE`: its first line. */
  passwordFile?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The password from the file, else AT_PKI_LEDGER_PASSWORD, else PGPASSWORD; undefined when none is set (pg then tries ~/.pgpass). */
export function ledgerPassword(sources: PasswordSources = {}): string | undefined {
  if (sources.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.passwordFile, 'utf8');
    } catch (error) {
      throw new InputError(`cannot read the ledger password file ${sources.passwordFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const password = text.split(/\r?\n/)[0]!;
    if (password === '') throw new InputError(`the ledger password file ${sources.passwordFile} is empty`);
    return password;
  }
  const env = sources.env ?? process.env;
  const fromEnv = env[LEDGER_PASSWORD_ENV] || env.PGPASSWORD;
  return fromEnv ? fromEnv : undefined;
}
