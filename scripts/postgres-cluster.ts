/**
 * A throwaway PostgreSQL cluster for tests and the ledger benchmark: initdb into a temp folder, the
 * server on a unix socket in that folder (no TCP: listen_addresses=''), password authentication
 * (scram-sha-256) so the ledger's password handling is exercised, removed again by stop().
 *
 * PostgreSQL refuses to run as root (and CI runs as root): then initdb and the server run as the
 * `postgres` system user (or `nobody`), through setpriv, which also ties the server's life to this
 * process (--pdeathsig): a test run that dies does not leave a server behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface PostgresCluster {
  /** Folder holding the data directory and the socket. */
  readonly dir: string;
  /** The server's major version (`16`). */
  readonly version: string;
  /** The superuser's password (the URLs never carry it). */
  readonly password: string;
  /** `postgres://atpki@/<database>?host=<socket dir>`: no password in it. */
  url(database: string): string;
  /** A new, empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stop the server, keeping its data (the database "goes away"). */
  pause(): Promise<void>;
  /** Start it again on the same data. */
  resume(): Promise<void>;
  /** Fast shutdown (SIGINT), then the folder is removed. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** fsync on (the benchmark's realistic figures) or off (tests: correctness, not durability). @default false */
  fsync?: boolean;
  /** @default 100 */
  maxConnections?: number;
}

const SUPERUSER = 'atpki';

/**
 * The newest `/usr/lib/postgresql/<major>/bin` holding initdb and postgres, or the folder
 * `pg_config --bindir` names; AT_PKI_PG_BIN names the folder instead (nothing there: not found).
 */
export function findPostgresBin(): string | undefined {
  const chosen = process.env.AT_PKI_PG_BIN;
  if (chosen) return existsSync(join(chosen, 'initdb')) && existsSync(join(chosen, 'postgres')) ? chosen : undefined;
  const root = '/usr/lib/postgresql';
  const candidates: string[] = [];
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((major) => join(root, major, 'bin')));
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on PATH
  }
  return candidates.find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres')));
}

/** Who runs the server: ourselves, or an unprivileged user when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (uid > 0) return { uid, gid };
    } catch {
      // no such user
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

/** The command line that runs `program` as the server user, dying with this process. */
function asServerUser(user: { uid: number; gid: number } | undefined, program: string, args: string[]): [string, string[]] {
  const drop = user === undefined ? [] : [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'];
  return ['setpriv', [...drop, '--pdeathsig', 'INT', '--', program, ...args]];
}

export async function startPostgresCluster(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin or pg_config --bindir); install postgresql');
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).match(/(\d+)(\.\d+)?/)?.[1] ?? '?';
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'at-pki-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user !== undefined) {
    chownSync(dir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }

  let server: ChildProcess | undefined;
  try {
    const [initdb, initArgs] = asServerUser(user, join(bin, 'initdb'), [
      '-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--no-locale', '-E', 'UTF8', '--no-sync', '--no-instructions',
    ]);
    execFileSync(initdb, initArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    rmSync(pwfile);

    server = await launch(user, bin, dir, data, password, options);
  } catch (error) {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let running = server;
  const url = (database: string): string => `postgres://${SUPERUSER}@/${database}?host=${encodeURIComponent(dir)}`;
  return {
    dir,
    version,
    password,
    url,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: lowercase letters, digits and _ only`);
      await withClient(dir, password, 'postgres', (client) => client.query(`CREATE DATABASE ${name}`));
      return url(name);
    },
    async pause(): Promise<void> {
      await halt(running);
    },
    async resume(): Promise<void> {
      if (running.exitCode === null && running.signalCode === null) return;
      running = await launch(user, bin, dir, data, password, options);
    },
    async stop(): Promise<void> {
      await halt(running);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Start the server on the cluster's data directory and wait until it accepts connections. */
async function launch(user: { uid: number; gid: number } | undefined, bin: string, dir: string, data: string, password: string, options: ClusterOptions): Promise<ChildProcess> {
  const [postgres, serverArgs] = asServerUser(user, join(bin, 'postgres'), [
    '-D', data, '-k', dir, '-c', 'listen_addresses=', '-c', `fsync=${options.fsync ? 'on' : 'off'}`,
    '-c', `max_connections=${options.maxConnections ?? 100}`, '-c', 'logging_collector=off',
  ]);
  const server = spawn(postgres, serverArgs, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: Buffer[] = [];
  server.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<never>((_, reject) =>
    server.once('exit', (code, signal) => reject(new Error(`postgres exited (${code ?? signal}) while starting:\n${Buffer.concat(stderr).toString()}`))),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([waitReady(dir, password), exited]);
  } catch (error) {
    server.kill('SIGKILL');
    throw error;
  }
  server.stderr!.removeAllListeners('data');
  server.stderr!.resume();
  return server;
}

/** Fast shutdown (SIGINT: clients are disconnected), SIGKILL if it takes more than 30 s. */
async function halt(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const gone = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGINT');
  const timer = setTimeout(() => server.kill('SIGKILL'), 30_000);
  await gone;
  clearTimeout(timer);
}

async function withClient<T>(dir: string, password: string, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: dir, user: SUPERUSER, password, database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function waitReady(dir: string, password: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await withClient(dir, password, 'postgres', (client) => client.query('SELECT 1'));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 60 s: ${(error as Error).message}`);
      await sleep(100);
    }
  }
}

