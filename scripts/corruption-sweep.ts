/**
 * Fault sweep: one update per case against a fresh emulated module, with exactly one byte of one
 * chosen command line corrupted — on its way to the module (it runs what it got) or in its echo on
 * the way back (it ran the right command; the host sees a wrong echo). Cases: every byte of a write,
 * of an erase (a whole-partition erase on a fresh module, a tail erase on a re-run), of a comparison
 * read and of a verify read, and of an AT+SYSMFG write and read-back on ESP-AT 3.x.
 *
 * After each update the emulator's flash is checked against what the update reported:
 * - success with exactly the right bytes (the partition holds the bin and then 0xFF; the namespace
 *   holds the values and nothing else changed in mfg_nvs unless the report's warnings name it);
 * - success with anything else is a **false success** — the bar is zero;
 * - a failure must say what it left (`details.deviceState`); a failure with the right bytes anyway is
 *   counted apart (the goal is that single corruptions end in success: ≥ 90 %);
 * - an update that does not end within `hangMs` is a **hang**.
 *
 *   node dist/scripts/corruption-sweep.js            # every byte of every case (npm run soak runs it too)
 *   node dist/scripts/corruption-sweep.js --stride 5 # every 5th byte
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createEmulator, createMockTransport, LineCorruption, removeEmulator, type EspAtEmulator, type LineCorruptionOptions } from '../mock-device/index.js';
import { AtPkiError } from '../src/errors.js';
import { updateMfgNamespace } from '../src/flash/mfg-update.js';
import { EspAtModule } from '../src/flash/module.js';
import { updatePartition } from '../src/flash/update.js';
import { registerTransportScheme, transportSchemes } from '../src/transport/open.js';

export type Scenario = 'fresh' | 'rerun' | 'mfg';

export interface SweepCase extends LineCorruptionOptions {
  scenario: Scenario;
  /** What the corrupted line is, for the summary. */
  target: string;
}

export interface SweepRun {
  case: SweepCase;
  outcome: 'success' | 'false-success' | 'failed-right-bytes' | 'failed' | 'hang' | 'not-fired';
  stateNamed: boolean;
  message?: string;
}

export interface SweepSummary {
  runs: number;
  successes: number;
  falseSuccesses: number;
  failedRightBytes: number;
  failedHonestly: number;
  hangs: number;
  /** Failures whose error did not say what state the module was left in. */
  failuresWithoutState: number;
  /** Cases whose command never came (not counted in `runs`). */
  notFired: number;
  failures: SweepRun[];
}

const LABEL = 'client_cert';
const NAMESPACE = 'client_cert';
const BIN_LENGTH = 2344;

function binOf(length: number): Buffer {
  const bin = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bin[i] = (i * 31 + 7 + (i >> 8)) & 0xff;
  return bin;
}

/** The command lines of each scenario that a case can hit, with their length (for "every byte"). */
function targets(): { scenario: Scenario; target: string; prefix: string; occurrence: number; length: number }[] {
  const q = `"${LABEL}"`;
  return [
    // Fresh (garbage-filled) partition: probe + rest read, one whole-partition erase, one write, one verify read.
    { scenario: 'fresh', target: 'write', prefix: 'AT+SYSFLASH=1,', occurrence: 0, length: `AT+SYSFLASH=1,${q},0,${BIN_LENGTH}\r\n`.length },
    { scenario: 'fresh', target: 'erase', prefix: 'AT+SYSFLASH=0,', occurrence: 0, length: `AT+SYSFLASH=0,${q}\r\n`.length },
    { scenario: 'fresh', target: 'verify-read', prefix: 'AT+SYSFLASH=2,', occurrence: 2, length: `AT+SYSFLASH=2,${q},0,${BIN_LENGTH}\r\n`.length },
    // Re-run with the bin in place (at 115200 the sector after it is erased rather than read).
    { scenario: 'rerun', target: 'compare-read', prefix: 'AT+SYSFLASH=2,', occurrence: 1, length: `AT+SYSFLASH=2,${q},64,4032\r\n`.length },
    { scenario: 'rerun', target: 'tail-erase', prefix: 'AT+SYSFLASH=0,', occurrence: 0, length: `AT+SYSFLASH=0,${q},4096,4096\r\n`.length },
    // ESP-AT 3.x: one key written with AT+SYSMFG, then read back.
    { scenario: 'mfg', target: 'mfg-write', prefix: 'AT+SYSMFG=2,', occurrence: 0, length: `AT+SYSMFG=2,"${NAMESPACE}","${NAMESPACE}.0",8,${BIN_LENGTH}\r\n`.length },
    { scenario: 'mfg', target: 'mfg-read', prefix: `AT+SYSMFG=1,"${NAMESPACE}","`, occurrence: 0, length: `AT+SYSMFG=1,"${NAMESPACE}","${NAMESPACE}.0"\r\n`.length },
  ];
}

/** Every case: each byte (or every `stride`-th, always with the line's last two) of each target, both directions. */
export function sweepCases(stride = 1): SweepCase[] {
  const cases: SweepCase[] = [];
  for (const t of targets()) {
    const indices = new Set<number>();
    for (let i = 0; i < t.length; i += stride) indices.add(i);
    indices.add(t.length - 2);
    indices.add(t.length - 1);
    for (const direction of ['command', 'echo'] as const) {
      for (const index of [...indices].sort((a, b) => a - b)) {
        cases.push({ scenario: t.scenario, target: t.target, prefix: t.prefix, occurrence: t.occurrence, index, direction });
      }
    }
  }
  return cases;
}

function snapshotMfg(emulator: EspAtEmulator): Map<string, string> {
  const store = emulator.loadMfgStore();
  const out = new Map<string, string>();
  if (!store) return out;
  for (const entry of store.keys()) out.set(`${entry.namespace}/${entry.key}`, store.get(entry.namespace, entry.key)!.bytes.toString('hex'));
  return out;
}

/** One update with one corrupted byte; what came of it. */
export async function runCase(c: SweepCase, options: { timeoutMs?: number; hangMs?: number } = {}): Promise<SweepRun> {
  if (!transportSchemes().includes('mock')) registerTransportScheme('mock', createMockTransport);
  const id = `sweep-${randomUUID()}`;
  const mfg = c.scenario === 'mfg';
  const emulator = createEmulator(id, { chip: 'esp32c3', fill: 'garbage', seed: 7, ...(mfg ? { firmware: '3.2.0.0' } : {}) });
  const bin = binOf(BIN_LENGTH);
  let module: EspAtModule | undefined;
  try {
    if (c.scenario === 'rerun') {
      const image = Buffer.alloc(emulator.readPartition(LABEL).length, 0xff);
      image.set(bin);
      emulator.writeRaw(LABEL, 0, image);
    }
    const before = mfg ? snapshotMfg(emulator) : undefined;
    const injector = new LineCorruption(c);
    emulator.setFaultInjector(injector);
    const url = `mock://esp32c3?id=${id}`;
    const work = async (): Promise<{ ok: true; warnings: string[] } | { ok: false; error: unknown }> => {
      try {
        module = await EspAtModule.connect(url, { timeoutMs: options.timeoutMs ?? 1000 });
        if (mfg) {
          const report = await updateMfgNamespace(module, NAMESPACE, [bin]);
          return { ok: true, warnings: report.warnings };
        }
        await updatePartition(module, LABEL, bin);
        return { ok: true, warnings: [] };
      } catch (error) {
        return { ok: false, error };
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), options.hangMs ?? 60_000)));
    const result = await Promise.race([work(), hang]);
    clearTimeout(timer);
    if (result === 'hang') return { case: c, outcome: 'hang', stateNamed: false };
    emulator.setFaultInjector(undefined);
    if (!injector.fired) return { case: c, outcome: 'not-fired', stateNamed: true };

    let right: boolean;
    if (mfg) {
      const after = snapshotMfg(emulator);
      const expected = new Map(before);
      for (const key of [...expected.keys()]) if (key.startsWith(`${NAMESPACE}/`)) expected.delete(key);
      expected.set(`${NAMESPACE}/${NAMESPACE}.0`, bin.toString('hex'));
      const warned = result.ok ? result.warnings.join('\n') : '';
      right = [...new Set([...expected.keys(), ...after.keys()])].every((key) => expected.get(key) === after.get(key) || (key !== `${NAMESPACE}/${NAMESPACE}.0` && warned.includes(key)));
    } else {
      const content = emulator.readPartition(LABEL);
      right = content.subarray(0, bin.length).equals(bin) && content.subarray(bin.length).every((b) => b === 0xff);
    }
    if (result.ok) return { case: c, outcome: right ? 'success' : 'false-success', stateNamed: true };
    const error = result.error;
    const stateNamed = error instanceof AtPkiError && (typeof error.details.deviceState === 'string' || module !== undefined);
    return { case: c, outcome: right ? 'failed-right-bytes' : 'failed', stateNamed, message: error instanceof Error ? error.message : String(error) };
  } finally {
    await module?.close().catch(() => {});
    removeEmulator(id);
  }
}

export async function runSweep(cases: SweepCase[], options: { timeoutMs?: number; hangMs?: number; onRun?: (run: SweepRun) => void } = {}): Promise<SweepSummary> {
  const summary: SweepSummary = { runs: 0, successes: 0, falseSuccesses: 0, failedRightBytes: 0, failedHonestly: 0, hangs: 0, failuresWithoutState: 0, notFired: 0, failures: [] };
  for (const c of cases) {
    const run = await runCase(c, options);
    options.onRun?.(run);
    if (run.outcome === 'not-fired') {
      summary.notFired++;
      continue;
    }
    summary.runs++;
    if (run.outcome === 'success') summary.successes++;
    else summary.failures.push(run);
    if (run.outcome === 'false-success') summary.falseSuccesses++;
    if (run.outcome === 'failed-right-bytes') summary.failedRightBytes++;
    if (run.outcome === 'failed') summary.failedHonestly++;
    if (run.outcome === 'hang') summary.hangs++;
    if ((run.outcome === 'failed' || run.outcome === 'failed-right-bytes') && !run.stateNamed) summary.failuresWithoutState++;
  }
  return summary;
}

export function formatSweep(summary: SweepSummary): string {
  const pct = (n: number): string => (summary.runs ? `${((100 * n) / summary.runs).toFixed(1)} %` : '-');
  const lines = [
    `single-corruption sweep: ${summary.runs} runs (${summary.notFired} cases whose command never came)`,
    `  success with the right bytes: ${summary.successes} (${pct(summary.successes)})`,
    `  false successes: ${summary.falseSuccesses}   hangs: ${summary.hangs}`,
    `  failed, bytes right anyway: ${summary.failedRightBytes}   failed honestly: ${summary.failedHonestly}   failures not naming the module state: ${summary.failuresWithoutState}`,
  ];
  for (const f of summary.failures.slice(0, 20)) {
    lines.push(`  - ${f.outcome}: ${f.case.target} ${f.case.direction} byte ${f.case.index}: ${f.message ?? ''}`);
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { stride: { type: 'string', default: '1' } } });
  const summary = await runSweep(sweepCases(Number(values.stride)));
  console.log(formatSweep(summary));
  process.exitCode = summary.falseSuccesses === 0 && summary.hangs === 0 ? 0 : 1;
}
