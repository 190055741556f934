/**
 * Soak test: N update jobs through the daemon (an in-process `at-pki daemon` on its unix socket,
 * driven with the StationClient: POST /jobs, the event stream, GET /jobs/:id, the journal) against
 * several emulated modules — legacy SYSFLASH partitions and ESP-AT 3.x mfg_nvs — with seeded random
 * faults on the line and in the modules. After every job the emulator's flash is compared with what
 * the job reported:
 *
 * - a job reported `succeeded` whose partition does not hold exactly the bin followed by 0xFF (or
 *   whose mfg_nvs namespace does not hold exactly the values, with no stale `<ns>.<i>` key) is a
 *   **false success** — there must be none;
 * - every job must end with a final state, in the API and in the journal (else it is **lost**);
 * - the daemon must still serve at the end: faults off, every port up, one clean update per module.
 *
 * A failed job is submitted again (up to --retries times), as an operator would. The summary
 * prints the seed; the same seed gives the same jobs and the same faults at the same bytes and
 * commands of each module (how the host reacts may still differ with timing).
 *
 *   npm run soak                                  # 1,000 jobs, random seed
 *   npm run soak -- --jobs 200 --seed 42          # replay a seed
 *   node dist/scripts/soak.js --jobs 100 --faults busy:0.05,reset:0.02 --modules 2
 *
 * Exit status: 0 when there was no false success, no lost job and the daemon still served; 1 otherwise.
 */
import { createHash, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  COMMAND_KNOBS,
  BYTE_KNOBS,
  createEmulator,
  createMockTransport,
  deriveSeed,
  parseFaultSpec,
  Prng,
  removeEmulator,
  type ChipName,
  type EspAtEmulator,
  type FaultKnob,
  type RandomFaults,
} from '../mock-device/index.js';
import { formatSweep, runSweep, sweepCases } from './corruption-sweep.js';
import { encodePkiBin } from '../src/pki/bin-format.js';
import type { PkiType } from '../src/pki/types.js';
import type { JobEvent, JobRequest, JobView } from '../src/station/api-types.js';
import { StationClient } from '../src/station/client.js';
import { parseStationConfig } from '../src/station/config.js';
import { parseJournal } from '../src/station/journal.js';
import { createStationLogger } from '../src/station/logger.js';
import { Station } from '../src/station/station.js';
import { registerTransportScheme, transportSchemes } from '../src/transport/open.js';

/** Faults of the full run: every knob, at rates where most jobs still get through (some after a retry). */
export const DEFAULT_FAULTS =
  'drop:0.00003,corrupt:0.00003,busy:0.01,error:0.004,silent:0.003,reset:0.004,disconnect:0.0015,powerCut:0.04';

export interface SoakModuleSpec {
  chip: ChipName;
  /** Firmware preset; a 3.x version keeps credentials in mfg_nvs. */
  firmware?: string;
}

/** Two legacy (SYSFLASH partitions) and two ESP-AT 3.x (mfg_nvs) modules, then more of the same. */
export const SOAK_MODULES: readonly SoakModuleSpec[] = [
  { chip: 'esp32c3' },
  { chip: 'esp32c3', firmware: '3.2.0.0' },
  { chip: 'esp8266' },
  { chip: 'esp32', firmware: '4.1.1.0' },
  { chip: 'esp32' },
  { chip: 'esp32c2', firmware: '4.1.1.0' },
];

export interface SoakOptions {
  /** Jobs to submit in all (retries included). */
  jobs: number;
  seed: number;
  /** How many emulated modules (from SOAK_MODULES). @default 4 */
  modules?: number;
  /** `faults=` syntax (mock-device/README.md). @default DEFAULT_FAULTS */
  faults?: string;
  /** Per-port answer timeout of the daemon, ms. @default 400 */
  timeoutMs?: number;
  /** Times a failed job is submitted again. @default 2 */
  retries?: number;
  /** Progress lines (one per 10% of the jobs, and problems). @default none */
  log?: (line: string) => void;
  /** Also log every failed job's error. @default false */
  verbose?: boolean;
}

export interface FalseSuccess {
  job: string;
  module: string;
  target: string;
  what: string;
}

export interface ModuleSummary {
  name: string;
  chip: string;
  firmware: string;
  storage: 'partitions' | 'mfg_nvs';
  jobs: number;
  succeeded: number;
  failed: number;
  falseSuccesses: number;
  faults: number;
}

export interface SoakSummary {
  seed: number;
  faults: string;
  jobs: number;
  succeeded: number;
  /** Of the successes: the module already held the credentials (nothing written). */
  unchanged: number;
  failed: number;
  /** Failed jobs by error code (TIMEOUT, VERIFY_FAILED...). */
  failures: Record<string, number>;
  /** cancelled / interrupted (should not happen in a soak). */
  other: number;
  /** Failed jobs submitted again. */
  retries: number;
  /** Jobs that had failed and succeeded when submitted again. */
  recoveredByRetry: number;
  /** Updates still failing after all retries. */
  gaveUp: number;
  falseSuccesses: FalseSuccess[];
  /** Failed jobs that said "unchanged" although the flash had changed (reported, not fatal: see README). */
  falseUnchangedClaims: number;
  /** Failed jobs after which the module held exactly the right bytes anyway (a pessimistic failure: e.g. the read-back was garbled on the line). */
  pessimisticFailures: number;
  /** Jobs without a final state (API or journal). */
  lost: string[];
  journal: { accepted: number; finished: number; stateMismatches: number };
  /** Stalled chunks recovered inside jobs (results' `recoveries`). */
  chunkRecoveries: number;
  /** From the daemon's metrics. */
  protocol: { commands: number; busy: number; timeouts: number; errors: number; moduleResets: number; reconnects: number };
  injected: Partial<Record<FaultKnob, number>>;
  finalRound: { ok: number; total: number };
  serving: boolean;
  rssMb: { start: number; end: number };
  /** V8 heap in use (after a collection when node runs with --expose-gc). */
  heapMb: { start: number; end: number };
  durationS: number;
  modules: ModuleSummary[];
  ok: boolean;
}

// ------------------------------------------------------------------------------------------------

interface SoakModule {
  spec: SoakModuleSpec;
  name: string;
  id: string;
  emulator: EspAtEmulator;
  storage: 'partitions' | 'mfg_nvs';
  prng: Prng;
  /** Synthetic credential contents this module's jobs pick from (so sets share items). */
  pool: Record<PkiType, Buffer[]>;
  /** Last update per target, for repeats (the "already there" path). */
  last: Map<string, Planned>;
  summary: ModuleSummary;
}

/** One update as planned: the request, and what the module must hold if it succeeds. */
interface Planned {
  request: Extract<JobRequest, { type: 'update' }>;
  target: string;
  /** Partitions: the bin. */
  bin: Buffer;
  /** mfg_nvs: the values, in key order. */
  values: Buffer[];
}

const TARGETS: Record<'partitions' | 'mfg_nvs', readonly { name: string; type: PkiType; max: number }[]> = {
  partitions: [
    { name: 'client_cert', type: 'cert', max: 3 },
    { name: 'client_key', type: 'key', max: 3 },
    { name: 'client_ca', type: 'ca', max: 3 },
  ],
  mfg_nvs: [
    { name: 'client_cert', type: 'cert', max: 3 },
    { name: 'client_key', type: 'key', max: 3 },
    { name: 'client_ca', type: 'ca', max: 3 },
    { name: 'mqtt_cert', type: 'cert', max: 1 },
  ],
};

const EXAMPLES: Record<PkiType, string[]> = {
  cert: ['client_cert/client_cert_00.crt', 'client_cert/client_cert_01.crt'],
  key: ['client_key/client_key_00.key', 'client_key/client_key_01.key'],
  ca: ['client_ca/client_ca_00.crt', 'client_ca/client_ca_01.crt'],
};

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
}

/** PEM-looking text of about `length` bytes (never valid DER: the daemon is told not to validate it). */
function syntheticPem(prng: Prng, type: PkiType, length: number): Buffer {
  const label = type === 'key' ? 'PRIVATE KEY' : 'CERTIFICATE';
  const raw = Buffer.alloc(Math.max(16, Math.floor(((length - 60) * 3) / 4)));
  for (let i = 0; i < raw.length; i++) raw[i] = prng.int(256);
  const body = raw.toString('base64').replace(/(.{64})/g, '$1\n');
  return Buffer.from(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`);
}

function pick<T>(prng: Prng, list: readonly T[]): T {
  return list[prng.int(list.length)]!;
}

function plan(module: SoakModule, examples: Record<PkiType, Buffer[]>): Planned {
  const prng = module.prng;
  const target = pick(prng, TARGETS[module.storage]);
  const previous = module.last.get(target.name);
  // Again what this target got last time: the "already holds it" path.
  if (previous && prng.next() < 0.3) return previous;
  const force = prng.next() < 0.05;
  let contents: Buffer[];
  let validate: boolean;
  if (prng.next() < 0.3) {
    // ESP-AT's example credentials, validated by the daemon.
    const n = target.max === 1 ? 1 : 1 + prng.int(2);
    const order = prng.next() < 0.5 ? [0, 1] : [1, 0];
    contents = order.slice(0, n).map((i) => examples[target.type][i]!);
    validate = true;
  } else {
    // Synthetic items from the module's pool: sets of different lengths that share items.
    const n = 1 + prng.int(target.max);
    contents = Array.from({ length: n }, () => pick(prng, module.pool[target.type]));
    validate = false;
  }
  const items = contents.map((content) => ({ type: target.type, content }));
  // A legacy partition (8 KiB) must hold the bin: drop items until it fits.
  while (module.storage === 'partitions' && items.length > 1 && encodePkiBin(items).length > 8192) items.pop();
  const bin = encodePkiBin(items);
  const inline = module.storage === 'partitions' && !validate && prng.next() < 0.5;
  const request: Planned['request'] = {
    type: 'update',
    port: module.name,
    partition: target.name,
    source: inline
      ? { kind: 'inline-bin', base64: bin.toString('base64') }
      : {
          kind: 'items',
          items: items.map((item) => (validate ? { type: item.type, pem: item.content.toString('utf8') } : { type: item.type, base64: item.content.toString('base64') })),
        },
    ...(force ? { force: true } : {}),
    ...(validate ? {} : { validate: false }),
  };
  const planned: Planned = { request, target: target.name, bin, values: items.map((item) => item.content) };
  return planned;
}

/** What the module holds now versus what a succeeded job says it holds; undefined when it matches. */
function mismatch(module: SoakModule, planned: Planned): string | undefined {
  const emulator = module.emulator;
  if (module.storage === 'partitions') {
    const partition = emulator.readPartition(planned.target);
    const bin = planned.bin;
    for (let i = 0; i < bin.length; i++) {
      if (partition[i] !== bin[i]) return `byte ${i} of ${planned.target} is 0x${partition[i]!.toString(16)}, the bin has 0x${bin[i]!.toString(16)}`;
    }
    const stale = partition.subarray(bin.length).findIndex((byte) => byte !== 0xff);
    return stale < 0 ? undefined : `stale byte after the bin at offset ${bin.length + stale} of ${planned.target}`;
  }
  if (emulator.mfgStatus !== 'ok') return 'mfg_nvs does not hold a valid store';
  const ns = planned.target;
  const multi = ns.startsWith('client_');
  const keys = multi ? planned.values.map((_, i) => `${ns}.${i}`) : [ns];
  for (const [i, key] of keys.entries()) {
    const item = emulator.readMfg(ns, key);
    if (!item) return `${ns}/${key} is missing`;
    if (item.type !== 8) return `${ns}/${key} has type ${item.type}, not 8 (binary)`;
    if (!item.bytes.equals(planned.values[i]!)) return `${ns}/${key} holds other bytes than the job's value`;
  }
  const stale = emulator
    .mfgKeys(ns)
    .map((k) => k.key)
    .filter((key) => multi && key.startsWith(`${ns}.`) && /^\d+$/.test(key.slice(ns.length + 1)) && !keys.includes(key));
  return stale.length > 0 ? `stale key(s) ${stale.join(', ')} left in ${ns}` : undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Counts from the Prometheus text: `at_command_duration_seconds_count{command=..,result=..} n` summed by result. */
function metricsSummary(text: string): SoakSummary['protocol'] {
  const sum = (re: RegExp): number => {
    let total = 0;
    for (const line of text.split('\n')) {
      const m = re.exec(line);
      if (m) total += Number(m[1]);
    }
    return total;
  };
  return {
    commands: sum(/^at_command_duration_seconds_count\{.*\} (\d+(?:\.\d+)?)$/),
    busy: sum(/^at_command_duration_seconds_count\{.*result="busy".*\} (\d+(?:\.\d+)?)$/),
    timeouts: sum(/^at_command_duration_seconds_count\{.*result="timeout".*\} (\d+(?:\.\d+)?)$/),
    errors: sum(/^at_command_duration_seconds_count\{.*result="error".*\} (\d+(?:\.\d+)?)$/),
    moduleResets: sum(/^module_resets_total\{.*\} (\d+(?:\.\d+)?)$/),
    reconnects: sum(/^serial_reconnects_total\{.*\} (\d+(?:\.\d+)?)$/),
  };
}

const mb = (bytes: number): number => Math.round(bytes / (1024 * 1024));

/** Memory now, after a full collection when `--expose-gc` allows one. */
function memory(): NodeJS.MemoryUsage {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const faultSpec = options.faults ?? DEFAULT_FAULTS;
  const faultOptions = parseFaultSpec(faultSpec);
  const timeoutMs = options.timeoutMs ?? 400;
  const maxRetries = options.retries ?? 2;
  const moduleCount = Math.max(1, Math.min(SOAK_MODULES.length, options.modules ?? 4));
  if (!transportSchemes().includes('mock')) registerTransportScheme('mock', createMockTransport);
  const root = repoRoot();
  const examples = Object.fromEntries(
    (Object.keys(EXAMPLES) as PkiType[]).map((type) => [type, EXAMPLES[type].map((file) => readFileSync(join(root, 'examples/raw_data', file)))]),
  ) as Record<PkiType, Buffer[]>;

  const dir = mkdtempSync(join(tmpdir(), 'atpki-soak-'));
  const modules: SoakModule[] = [];
  for (let i = 0; i < moduleCount; i++) {
    const spec = SOAK_MODULES[i]!;
    const name = `m${i}`;
    const id = `soak-${process.pid}-${options.seed}-${name}`;
    const emulator = createEmulator(id, {
      chip: spec.chip,
      firmware: spec.firmware,
      fill: 'garbage',
      seed: deriveSeed(options.seed, `flash/${name}`),
      faults: { ...faultOptions, seed: deriveSeed(options.seed, `faults/${name}`) },
    });
    const storage = emulator.preset.mfgNvs ? 'mfg_nvs' : 'partitions';
    const prng = new Prng(deriveSeed(options.seed, `jobs/${name}`));
    const pool = Object.fromEntries(
      (['cert', 'key', 'ca'] as PkiType[]).map((type) => [type, Array.from({ length: 5 }, () => syntheticPem(prng, type, 300 + prng.int(3300)))]),
    ) as Record<PkiType, Buffer[]>;
    modules.push({
      spec,
      name,
      id,
      emulator,
      storage,
      prng,
      pool,
      last: new Map(),
      summary: { name, chip: spec.chip, firmware: emulator.firmware, storage, jobs: 0, succeeded: 0, failed: 0, falseSuccesses: 0, faults: 0 },
    });
  }

  const config = parseStationConfig(
    {
      ports: modules.map((m) => ({ name: m.name, url: `mock://${m.emulator.chip}?id=${m.id}`, timeoutMs })),
      api: { socket: join(dir, 'api.sock') },
      journal: 'journal.jsonl',
      logLevel: 'warn',
      reconnect: { initialDelayMs: 20, maxDelayMs: 250 },
      jobs: { timeoutMs: 120_000, portWaitMs: 120_000 },
      shutdownGraceMs: 10_000,
    },
    { baseDir: dir, source: 'soak-station.json' },
  );
  let logLines = 0;
  const logger = createStationLogger({ level: config.logLevel, destination: { write: () => void logLines++ } });
  const station = await Station.start(config, { logger, version: 'soak' });
  const client = new StationClient({ daemon: config.api.socket!, timeoutMs: 30_000 });
  const atStart = memory();

  const summary: SoakSummary = {
    seed: options.seed,
    faults: faultSpec,
    jobs: 0,
    succeeded: 0,
    unchanged: 0,
    failed: 0,
    failures: {},
    other: 0,
    retries: 0,
    recoveredByRetry: 0,
    gaveUp: 0,
    falseSuccesses: [],
    falseUnchangedClaims: 0,
    pessimisticFailures: 0,
    lost: [],
    journal: { accepted: 0, finished: 0, stateMismatches: 0 },
    chunkRecoveries: 0,
    protocol: { commands: 0, busy: 0, timeouts: 0, errors: 0, moduleResets: 0, reconnects: 0 },
    injected: {},
    finalRound: { ok: 0, total: 0 },
    serving: false,
    rssMb: { start: mb(atStart.rss), end: 0 },
    heapMb: { start: mb(atStart.heapUsed), end: 0 },
    durationS: 0,
    modules: modules.map((m) => m.summary),
    ok: false,
  };
  /** Final state of every job as the API reported it. */
  const reported = new Map<string, string>();
  const allPortsUp = (): Promise<boolean> => client.getStatus().then((status) => status.ports.every((p) => p.state === 'up'));

  /** Submit one job, follow it to its end, check the module. Returns the final view. */
  const runOne = async (module: SoakModule, planned: Planned): Promise<JobView | undefined> => {
    const region = (): Buffer => module.emulator.readPartition(module.storage === 'partitions' ? planned.target : 'mfg_nvs');
    const before = region();
    let id: string;
    try {
      id = (await client.submitJob(planned.request)).id;
    } catch (error) {
      // Refused (4xx): a bug in this script or in the daemon's checks; counts as lost work.
      summary.lost.push(`(refused) ${String(error)}`);
      log(`refused: ${String(error)}`);
      return undefined;
    }
    let view: JobView | undefined;
    try {
      await client.streamEvents(id, (event: JobEvent) => {
        if (event.type === 'end' && event.ok && typeof event.result.recoveries === 'number') summary.chunkRecoveries += event.result.recoveries;
      });
      view = await client.getJob(id);
    } catch (error) {
      summary.lost.push(id);
      log(`job ${id} on ${module.name}: no final state (${String(error)})`);
      return undefined;
    }
    reported.set(id, view.state);
    module.summary.jobs++;
    summary.jobs++;
    if (view.state === 'succeeded') {
      summary.succeeded++;
      module.summary.succeeded++;
      if (view.result?.unchanged === true) summary.unchanged++;
      const problem =
        (module.storage === 'partitions' && view.result?.binSha256 !== sha256(planned.bin) ? 'the daemon wrote another bin than the soak planned' : undefined) ??
        mismatch(module, planned);
      if (problem) {
        summary.falseSuccesses.push({ job: id, module: module.name, target: planned.target, what: problem });
        module.summary.falseSuccesses++;
        log(`FALSE SUCCESS: job ${id} on ${module.name} (${planned.target}): ${problem}`);
      }
    } else if (view.state === 'failed') {
      summary.failed++;
      module.summary.failed++;
      const code = view.error?.code ?? 'UNKNOWN';
      summary.failures[code] = (summary.failures[code] ?? 0) + 1;
      if (options.verbose) log(`failed on ${module.name} (${planned.target}): ${code}: ${view.error?.message}`);
      const deviceState = view.error?.details?.deviceState;
      if (typeof deviceState === 'string' && deviceState.startsWith('unchanged') && !region().equals(before)) summary.falseUnchangedClaims++;
      if (mismatch(module, planned) === undefined) summary.pessimisticFailures++;
    } else {
      summary.other++;
    }
    return view;
  };

  try {
    await eventually(allPortsUp, 'all ports up', 60_000);
    const perModule = modules.map((_, i) => Math.floor(options.jobs / moduleCount) + (i < options.jobs % moduleCount ? 1 : 0));
    let done = 0;
    let nextReport = Math.ceil(options.jobs / 10);
    const worker = async (module: SoakModule, budget: number): Promise<void> => {
      let retry: { planned: Planned; attempts: number } | undefined;
      for (let n = 0; n < budget; n++) {
        const planned = retry?.planned ?? plan(module, examples);
        if (retry) summary.retries++;
        const view = await runOne(module, planned);
        done++;
        if (done >= nextReport) {
          log(`${done}/${options.jobs} jobs: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.falseSuccesses.length} false successes`);
          nextReport += Math.ceil(options.jobs / 10);
        }
        if (view?.state === 'succeeded') {
          if (retry) summary.recoveredByRetry++;
          module.last.set(planned.target, planned);
          retry = undefined;
        } else if (retry && retry.attempts >= maxRetries) {
          summary.gaveUp++;
          retry = undefined;
        } else {
          retry = { planned, attempts: (retry?.attempts ?? 0) + 1 };
        }
      }
      if (retry) summary.gaveUp++;
    };
    await Promise.all(modules.map((module, i) => worker(module, perModule[i]!)));

    // The end: faults off, the daemon must still serve and every module take a clean update.
    for (const module of modules) {
      const faults = module.emulator.faultInjector as RandomFaults | undefined;
      if (faults) {
        module.summary.faults = faults.total;
        for (const knob of [...BYTE_KNOBS, ...COMMAND_KNOBS]) summary.injected[knob] = (summary.injected[knob] ?? 0) + faults.counts[knob];
      }
      module.emulator.setFaults(undefined);
    }
    await eventually(allPortsUp, 'all ports up after the faults stopped', 60_000).catch(() => false);
    summary.finalRound.total = modules.length;
    await Promise.all(
      modules.map(async (module) => {
        const planned = plan(module, examples);
        const view = await runOne(module, planned);
        if (view?.state === 'succeeded' && !summary.falseSuccesses.some((f) => f.job === view.id)) summary.finalRound.ok++;
        else log(`final clean update on ${module.name} did not succeed: ${JSON.stringify(view?.error ?? view?.state)}`);
      }),
    );
    const status = await client.getStatus();
    summary.serving = status.accepting && status.ports.every((p) => p.state === 'up') && summary.finalRound.ok === summary.finalRound.total;
    summary.protocol = metricsSummary(await client.getMetrics());
  } finally {
    const atEnd = memory();
    summary.rssMb.end = mb(atEnd.rss);
    summary.heapMb.end = mb(atEnd.heapUsed);
    await station.stop();
    // Every job the soak saw must be in the journal, accepted and finished with the state the API reported.
    const { records } = parseJournal(readFileSync(config.journal, 'utf8'));
    const accepted = new Set<string>();
    const finished = new Map<string, string>();
    for (const record of records) {
      if (record.type === 'accepted') accepted.add(record.id);
      if (record.type === 'finished') finished.set(record.id, record.state);
    }
    summary.journal.accepted = accepted.size;
    summary.journal.finished = finished.size;
    for (const [id, state] of reported) {
      if (!accepted.has(id) || !finished.has(id)) summary.lost.push(id);
      else if (finished.get(id) !== state) summary.journal.stateMismatches++;
    }
    for (const id of accepted) if (!finished.has(id) && !summary.lost.includes(id)) summary.lost.push(id);
    for (const module of modules) removeEmulator(module.id);
    rmSync(dir, { recursive: true, force: true });
  }
  summary.durationS = Math.round((performance.now() - started) / 100) / 10;
  summary.ok = summary.falseSuccesses.length === 0 && summary.lost.length === 0 && summary.journal.stateMismatches === 0 && summary.serving;
  return summary;
}

/** The summary as a table (plain text). */
export function formatSummary(s: SoakSummary): string {
  const rows: [string, string][] = [
    ['seed', `${s.seed}   (replay: npm run soak -- --jobs ${s.jobs - s.finalRound.total} --seed ${s.seed})`],
    ['faults', s.faults],
    ['jobs', `${s.jobs} (incl. ${s.finalRound.total} fault-free at the end)`],
    ['  succeeded', `${s.succeeded} (${s.unchanged} already held the credentials)`],
    [
      '  failed',
      `${s.failed}${s.failed > 0 ? ` (${Object.entries(s.failures).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ')})` : ''}`,
    ],
    ['  cancelled/interrupted', `${s.other}`],
    ['retries', `${s.retries} failed jobs submitted again; ${s.recoveredByRetry} then succeeded, ${s.gaveUp} still failing after the last retry`],
    ['inside jobs', `${s.chunkRecoveries} stalled chunks topped up and rewritten`],
    [
      'AT commands',
      `${s.protocol.commands} (busy ${s.protocol.busy}, timeout ${s.protocol.timeouts}, error ${s.protocol.errors}); module resets seen ${s.protocol.moduleResets}, port reconnects ${s.protocol.reconnects}`,
    ],
    [
      'faults injected',
      Object.entries(s.injected)
        .filter(([, n]) => n && n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none',
    ],
    ['FALSE SUCCESSES', `${s.falseSuccesses.length}`],
    ['lost jobs', `${s.lost.length}`],
    ['journal', `${s.journal.accepted} accepted, ${s.journal.finished} finished, ${s.journal.stateMismatches} state mismatches`],
    ['"unchanged" claims wrong', `${s.falseUnchangedClaims} (failed jobs only; informational)`],
    ['pessimistic failures', `${s.pessimisticFailures} failed jobs left the right bytes anyway (e.g. a read-back garbled on the line; informational)`],
    ['daemon at the end', s.serving ? `serving: all ports up, ${s.finalRound.ok}/${s.finalRound.total} clean updates succeeded` : `NOT SERVING (${s.finalRound.ok}/${s.finalRound.total} clean updates)`],
    [
      'RSS',
      `${s.rssMb.start} MB at start, ${s.rssMb.end} MB at end (${s.rssMb.end >= s.rssMb.start ? '+' : ''}${s.rssMb.end - s.rssMb.start} MB); ` +
        `heap in use ${s.heapMb.start} → ${s.heapMb.end} MB${typeof (globalThis as { gc?: unknown }).gc === 'function' ? ' (after GC)' : ''}`,
    ],
    ['time', `${s.durationS} s`],
    ['result', s.ok ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  const header = ['module', 'chip', 'firmware', 'storage', 'jobs', 'ok', 'failed', 'false', 'faults'];
  const table = s.modules.map((m) => [m.name, m.chip, m.firmware, m.storage, m.jobs, m.succeeded, m.failed, m.falseSuccesses, m.faults].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i >= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const details = s.falseSuccesses.slice(0, 20).map((f) => `  false success: job ${f.job} on ${f.module} (${f.target}): ${f.what}`);
  const lost = s.lost.slice(0, 20).map((id) => `  lost: ${id}`);
  return [...lines, '', fmt(header), ...table.map(fmt), ...details, ...lost].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '1000' },
      seed: { type: 'string' },
      modules: { type: 'string', default: '4' },
      faults: { type: 'string' },
      timeout: { type: 'string', default: '400' },
      retries: { type: 'string', default: '2' },
      verbose: { type: 'boolean', short: 'v' },
      'sweep-stride': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: npm run soak -- [--jobs 1000] [--seed N] [--modules 4] [--faults SPEC] [--timeout 400] [--retries 2] [--sweep-stride 1 (0: no sweep)] [--verbose]');
    return;
  }
  const whole = (text: string | undefined, name: string, min: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min) {
      console.error(`soak: --${name} must be a whole number ≥ ${min}, got '${text}'`);
      process.exit(2);
    }
    return n;
  };
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : whole(values.seed, 'seed', 0);
  const jobs = whole(values.jobs, 'jobs', 1);
  console.log(`soak: ${jobs} jobs, seed ${seed} (replay with --seed ${seed})`);
  const summary = await runSoak({
    jobs,
    seed,
    modules: whole(values.modules, 'modules', 1),
    faults: values.faults,
    timeoutMs: whole(values.timeout, 'timeout', 100),
    retries: whole(values.retries, 'retries', 0),
    verbose: values.verbose ?? false,
    log: (line) => console.log(`soak: ${line}`),
  });
  console.log(`\n${formatSummary(summary)}`);
  // Then the single-corruption sweep: one corrupted byte in one command per update (issue 12).
  const stride = whole(values['sweep-stride'], 'sweep-stride', 0);
  let sweepOk = true;
  if (stride > 0) {
    const sweep = await runSweep(sweepCases(stride));
    console.log(`\n${formatSweep(sweep)}`);
    sweepOk = sweep.falseSuccesses === 0 && sweep.hangs === 0 && sweep.failuresWithoutState === 0;
  }
  process.exitCode = summary.ok && sweepOk ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  });
}
