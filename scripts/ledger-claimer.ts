/**
 * One claiming process for the ledger concurrency test and benchmark: records its devices, says
 * `ready`, waits for `go` on stdin, then claims a set for each device in turn (optionally taking it
 * through writing → verified) until its devices or the batch run out, and prints a summary line.
 *
 *   node dist/scripts/ledger-claimer.js --ledger SPEC --batch NAME --station NAME --first N --count N [--verify]
 *
 * The PostgreSQL password comes from AT_PKI_LEDGER_PASSWORD (never an argument).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openLedger } from '../src/station/ledger/open-ledger.js';

export interface ClaimerSummary {
  station: string;
  /** `device set` per claim, in order. */
  claims: { device: string; set: string }[];
  exhausted: number;
  ms: number;
}

/** `02:00:00:xx:xx:xx` for device number n (distinct from the contract suite's fake devices). */
export function claimerMac(n: number): string {
  const hex = n.toString(16).padStart(6, '0');
  return `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

export interface ClaimersOptions {
  ledger: string;
  batch: string;
  /** One entry per process: its station name and how many devices it brings. */
  processes: { station: string; devices: number }[];
  /** Take each claim through writing → verified. */
  verify?: boolean;
  /** PostgreSQL password (passed in the environment). */
  password?: string;
  /** kill -9 process i after it printed this many claims (undefined: let it finish). */
  killAfter?: (index: number) => number | undefined;
}

export interface ClaimersRun {
  /** Per process: what it claimed (a killed one: the claims it printed before dying). */
  results: { station: string; claims: { device: string; set: string }[]; exhausted: number; killed: boolean; code: number | null; stderr: string }[];
  /** From `go` until the last process ended. */
  wallMs: number;
}

/** The built claimer (dist/scripts/ledger-claimer.js), next to this module once compiled. */
export function claimerPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join('dist', 'scripts')}`) ? join(here, 'ledger-claimer.js') : join(here, '..', 'dist', 'scripts', 'ledger-claimer.js');
}

/** Run claimer processes against one batch at once; device numbers do not overlap between them. */
export async function runClaimers(options: ClaimersOptions): Promise<ClaimersRun> {
  let next = 1;
  const children = options.processes.map((spec, index) => {
    const args = [claimerPath(), '--ledger', options.ledger, '--batch', options.batch, '--station', spec.station, '--first', String(next), '--count', String(spec.devices)];
    next += spec.devices;
    if (options.verify) args.push('--verify');
    const child = spawn(process.execPath, args, {
      env: { ...process.env, AT_PKI_LEDGER_PASSWORD: options.password ?? process.env.AT_PKI_LEDGER_PASSWORD ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const state = { station: spec.station, claims: [] as { device: string; set: string }[], exhausted: 0, killed: false, code: null as number | null, stderr: '' };
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    const killAt = options.killAfter?.(index);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') return ready();
      const claimed = /^claimed (\S+) (\S+)$/.exec(line);
      if (claimed) {
        state.claims.push({ device: claimed[1]!, set: claimed[2]! });
        if (killAt !== undefined && state.claims.length >= killAt && !state.killed) {
          state.killed = true;
          // A few milliseconds on: inside the next claim or state change, not between them.
          setTimeout(() => child.kill('SIGKILL'), Math.random() * 8);
        }
        return;
      }
      if (line.startsWith('{')) state.exhausted = (JSON.parse(line) as ClaimerSummary).exhausted;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (state.stderr += text));
    const exited = new Promise<void>((resolve) => child.on('close', (code) => ((state.code = code), resolve())));
    // A process that dies before `ready` must not hang the run.
    void exited.then(() => ready());
    return { child, state, isReady, exited };
  });
  await Promise.all(children.map((c) => c.isReady));
  const started = performance.now();
  for (const { child } of children) child.stdin.end('go\n');
  await Promise.all(children.map((c) => c.exited));
  return { results: children.map((c) => c.state), wallMs: performance.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ledger: { type: 'string' },
      batch: { type: 'string' },
      station: { type: 'string' },
      first: { type: 'string' },
      count: { type: 'string' },
      verify: { type: 'boolean', default: false },
    },
  });
  const station = values.station ?? 'claimer';
  const context = { station, port: `pid-${process.pid}`, actor: 'ledger-claimer' };
  const ledger = await openLedger(values.ledger!);
  const first = Number(values.first ?? 1);
  const count = Number(values.count ?? 1);
  const macs = Array.from({ length: count }, (_, i) => claimerMac(first + i));
  for (const mac of macs) {
    await ledger.recordDevice({ mac, chip: 'ESP32-C3', firmware: '3.3.0.0', identitySource: 'efuse', warnings: [] }, context);
  }
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', () => {
      lines.close();
      resolve();
    });
  });

  const summary: ClaimerSummary = { station, claims: [], exhausted: 0, ms: 0 };
  const started = performance.now();
  for (const mac of macs) {
    const result = await ledger.claim({ batch: values.batch!, device: mac }, context);
    if (result.kind === 'exhausted') {
      summary.exhausted++;
      break;
    }
    summary.claims.push({ device: mac, set: result.assignment.set.name });
    process.stdout.write(`claimed ${mac} ${result.assignment.set.name}\n`);
    // A device seen before (this station was killed mid-unit) continues where its assignment is.
    if (values.verify && result.assignment.state !== 'verified') {
      if (result.assignment.state !== 'writing') await ledger.transition(result.assignment.id, 'writing', context);
      await ledger.transition(result.assignment.id, 'verified', context);
    }
  }
  summary.ms = performance.now() - started;
  await ledger.close();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (process.argv[1]?.endsWith('ledger-claimer.js')) {
  main().catch((error: unknown) => {
    process.stderr.write(`ledger-claimer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
