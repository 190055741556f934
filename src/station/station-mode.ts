/**
 * Station mode: each bay (a configured port) provisions the unit plugged into it, on its own. A unit
 * appears (the port comes up, or the unit answers the bay's periodic identity poll), is identified,
 * gets its set (provisionUnit: claim, write, verify, record), and the bay then waits for it to leave
 * (unplugged, no longer answering, or a different MAC) before the next. The operator's board, the
 * event log, metrics and the journal follow every unit; the journal's `unit` records and the ledger
 * agree.
 *
 * Crash recovery: assignments this station left in flight (`reserved`/`writing`) are reconciled as
 * the bays come up: a unit still in its bay is provisioned again (its set read back, verified or
 * rewritten; an issued set whose key died with the process is retired and a new one issued); an
 * in-flight assignment whose unit is not in its bay is marked `suspect` for the operator, its set
 * kept bound to the unit (a reservation that never reached the module is released).
 */
import { setMaxListeners } from 'node:events';
import { AtPkiError, DisconnectedError, InputError } from '../errors.js';
import type { OperationEvent } from '../flash/events.js';
import { readDeviceIdentity, type DeviceIdentity } from '../flash/identity.js';
import type { EspAtModule } from '../flash/module.js';
import { readRegularFile } from '../flash/regular-file.js';
import { delay } from '../transport/abortable.js';
import type { BayBoard } from './bay-board.js';
import { errorBody } from './errors.js';
import type { Journal } from './journal.js';
import type { Assignment, Ledger, LedgerContext } from './ledger/ledger.js';
import { defaultStationName } from './ledger/ledger-context.js';
import { openLedger } from './ledger/open-ledger.js';
import type { StationLogger } from './logger.js';
import type { StationMetrics } from './metrics.js';
import type { PortSupervisor } from './port-supervisor.js';
import { issuanceSource } from './provision/issued-source.js';
import { provisionUnit, type CredentialSource } from './provision/provision-unit.js';
import type { StationModeConfig } from './station-mode-config.js';

export interface StationModeOptions {
  config: StationModeConfig;
  supervisors: ReadonlyMap<string, PortSupervisor>;
  board: BayBoard;
  journal: Journal;
  metrics: StationMetrics;
  logger: StationLogger;
  env?: NodeJS.ProcessEnv;
}

export class StationMode {
  readonly ledger: Ledger;
  readonly source: CredentialSource;
  readonly stationName: string;
  readonly #options: StationModeOptions;
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  /** In-flight assignments of an earlier run, per bay, until that bay's unit is known. */
  readonly #pending = new Map<string, Assignment[]>();

  private constructor(options: StationModeOptions, ledger: Ledger, source: CredentialSource, stationName: string) {
    this.#options = options;
    this.ledger = ledger;
    this.source = source;
    this.stationName = stationName;
    // Every bay waits on this one signal (a wait per bay and per command): not a leak.
    setMaxListeners(0, this.#stop.signal);
  }

  /** Open the ledger, load the source (InputError, exit 2, for a bad one), find what an earlier run left in flight, start the bays. */
  static async start(options: StationModeOptions): Promise<StationMode> {
    const { config } = options;
    const source = await sourceOf(config, options.env ?? process.env);
    const ledger = await openLedger(config.ledger, config.ledgerPasswordFile !== undefined ? { passwordFile: config.ledgerPasswordFile } : {});
    try {
      if (source.kind === 'batch' && !(await ledger.batch(source.batch))) {
        throw new InputError(`station.batch: the ledger ${ledger.location} has no batch ${JSON.stringify(source.batch)}; import it with 'at-pki batch import'`);
      }
      const mode = new StationMode(options, ledger, source, config.name ?? defaultStationName());
      for (const assignment of await ledger.inFlight({ station: mode.stationName })) {
        if (assignment.port === undefined || !config.bays.includes(assignment.port)) continue;
        mode.#pending.set(assignment.port, [...(mode.#pending.get(assignment.port) ?? []), assignment]);
      }
      const inFlight = [...mode.#pending.values()].flat();
      if (inFlight.length > 0) options.logger.warn({ assignments: inFlight.map((a) => ({ id: a.id, device: a.device, bay: a.port, state: a.state })) }, 'assignments of the last run were in flight; reconciling as the bays come up');
      await mode.#updateRemaining();
      for (const bay of config.bays) mode.#loops.push(mode.#runBay(bay));
      options.logger.info({ ledger: ledger.location, station: mode.stationName, bays: config.bays, source: source.kind === 'batch' ? `batch ${source.batch}` : `issue (batch ${source.batch})` }, 'station mode on');
      return mode;
    } catch (error) {
      await ledger.close();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error('station mode stopping'));
    await Promise.allSettled(this.#loops);
    await this.ledger.close();
  }

  async #runBay(bay: string): Promise<void> {
    const { supervisors, board, logger: rootLogger, config } = this.#options;
    const supervisor = supervisors.get(bay)!;
    const logger = rootLogger.child({ bay });
    const signal = this.#stop.signal;
    /** The unit whose outcome the bay shows until it leaves. */
    let present: string | undefined;
    const onDown = (error: Error): void => {
      if (present !== undefined) board.set(bay, { state: 'waiting', device: undefined });
      else if (board.bay(bay)?.state !== 'waiting') board.set(bay, { state: 'down', reason: error.message, device: undefined });
      present = undefined;
    };
    supervisor.on('down', onDown);
    try {
      while (!signal.aborted) {
        let module: EspAtModule;
        try {
          if (!supervisor.isUp) await this.#settleWhileDown(bay);
          module = await supervisor.acquire(signal);
        } catch {
          if (signal.aborted) return;
          continue;
        }
        if (board.bay(bay)?.state === 'down') board.set(bay, { state: 'waiting', device: undefined });
        let identity: DeviceIdentity;
        try {
          identity = await readDeviceIdentity(module, { signal });
        } catch (error) {
          if (signal.aborted) return;
          // Nothing answering as a unit (removed from a fixed adapter, or not an ESP-AT module).
          if (present !== undefined) board.set(bay, { state: 'waiting', device: undefined });
          present = undefined;
          logger.debug({ error: errorBody(error) }, 'no unit identified');
          await this.#pause(config.pollMs);
          continue;
        }
        if (identity.mac === present) {
          await this.#pause(config.pollMs);
          continue;
        }
        present = identity.mac;
        await this.#reconcile(bay, identity.mac);
        const ok = await this.#provision(bay, module, identity, logger);
        // Pulled out mid-write: the bay is waiting again (the set stays bound to that unit).
        if (ok === 'gone') present = undefined;
      }
    } finally {
      supervisor.off('down', onDown);
    }
  }

  /** The bay's port is down: in-flight assignments of an earlier run on it belong to units that left. */
  async #settleWhileDown(bay: string): Promise<void> {
    const supervisor = this.#options.supervisors.get(bay)!;
    if (supervisor.state === 'down') await this.#reconcile(bay, undefined);
  }

  /** Earlier in-flight assignments of this bay, now that we know which unit (if any) is in it. */
  async #reconcile(bay: string, mac: string | undefined): Promise<void> {
    const pending = this.#pending.get(bay);
    if (!pending) return;
    this.#pending.delete(bay);
    const context = this.#context(bay);
    for (const assignment of pending) {
      // The unit still in its bay: provisioning it now resumes this assignment (same set, read back, verified or rewritten).
      if (assignment.device === mac) continue;
      try {
        if (assignment.state === 'reserved') {
          await this.ledger.release(assignment.id, context, 'the station stopped before writing; the unit is no longer in its bay');
        } else {
          await this.ledger.transition(assignment.id, 'suspect', context, `the station stopped while writing and unit ${assignment.device} left bay ${bay}: put it back in a bay to finish (its set stays bound to it)`);
          await this.#options.journal.append({ type: 'unit', bay, device: assignment.device, batch: assignment.batch, set: assignment.set.name, assignmentId: assignment.id, outcome: 'suspect', reason: 'unit left during a crash' });
        }
      } catch (error) {
        this.#options.logger.warn({ bay, assignment: assignment.id, error: errorBody(error) }, 'cannot reconcile an in-flight assignment');
      }
    }
  }

  async #provision(bay: string, module: EspAtModule, identity: DeviceIdentity, logger: StationLogger): Promise<'passed' | 'failed' | 'gone'> {
    const { board, metrics, journal } = this.#options;
    const started = performance.now();
    const signal = this.#stop.signal;
    board.set(bay, { state: 'identifying', device: identity.mac });
    let phase: string | undefined;
    const onEvent = (event: OperationEvent): void => {
      if (event.type !== 'progress') return;
      phase = event.phase;
      board.set(bay, { state: 'provisioning', phase, progress: { done: event.done, total: event.total } });
    };
    let assignment: { id?: number; batch?: string; set?: string } = {};
    try {
      const result = await provisionUnit(module, this.ledger, this.source, {
        context: this.#context(bay),
        signal,
        identity,
        onEvent,
        onStep: (step, info) => {
          if (step === 'claimed') {
            board.set(bay, { state: 'provisioning', phase: 'claimed', ...(info.set ? { set: info.set } : {}), ...(info.subject ? { subject: info.subject } : {}) });
            void this.#updateRemaining();
          }
        },
      });
      assignment = { id: result.assignmentId, batch: result.batch, set: result.set ?? result.certSerial };
      const seconds = (performance.now() - started) / 1000;
      board.set(bay, { state: 'passed', device: result.device, ...(result.set ? { set: result.set } : {}), subject: result.subject });
      board.record({ bay, device: result.device, ok: true });
      metrics.unitFinished(bay, 'passed', seconds);
      await journal.append({ type: 'unit', bay, device: result.device, batch: result.batch, set: assignment.set!, assignmentId: result.assignmentId, outcome: 'verified', bytesWritten: result.bytesWritten });
      logger.info({ device: result.device, batch: result.batch, set: assignment.set, bytesWritten: result.bytesWritten, seconds: Math.round(seconds * 10) / 10 }, 'unit passed');
      return 'passed';
    } catch (error) {
      if (signal.aborted) return 'gone';
      const body = errorBody(error);
      const reason = body.message.replace(/\s*\n\s*/g, ' ');
      const details = error instanceof AtPkiError ? (error.details.assignment as { id: number; state: string; set: string } | undefined) : undefined;
      const gone = error instanceof DisconnectedError;
      board.set(bay, { state: 'failed', device: identity.mac, reason });
      board.record({ bay, device: identity.mac, ok: false, reason });
      metrics.unitFinished(bay, 'failed', (performance.now() - started) / 1000);
      await journal
        .append({ type: 'unit', bay, device: identity.mac, ...(details ? { batch: this.source.batch, set: details.set, assignmentId: details.id } : {}), outcome: details?.state === 'suspect' ? 'suspect' : details ? 'failed' : 'refused', reason, code: body.code })
        .catch(() => {});
      logger.warn({ device: identity.mac, error: body }, 'unit failed');
      void this.#updateRemaining();
      return gone ? 'gone' : 'failed';
    }
  }

  #context(bay: string): LedgerContext {
    return { station: this.stationName, port: bay, actor: 'daemon' };
  }

  async #updateRemaining(): Promise<void> {
    if (this.source.kind !== 'batch') return;
    try {
      const batch = await this.ledger.batch(this.source.batch);
      if (batch) this.#options.board.setRemainingSets(batch.available);
    } catch {
      // The board shows the last known count.
    }
  }

  async #pause(ms: number): Promise<void> {
    try {
      await delay(ms, this.#stop.signal);
    } catch {
      // stopping
    }
  }
}

async function sourceOf(config: StationModeConfig, env: NodeJS.ProcessEnv): Promise<CredentialSource> {
  if (config.batch !== undefined) return { kind: 'batch', batch: config.batch };
  const issue = config.issue!;
  const read = async (path: string, what: string): Promise<string> => {
    try {
      return (await readRegularFile(path, { maxBytes: 64 * 1024, tooLarge: 'larger than any PEM file' })).toString('utf8');
    } catch (error) {
      throw new InputError(`station.issue.${what}: ${(error as Error).message}`, { cause: error });
    }
  };
  let passphrase: string | undefined;
  if (issue.passphraseEnv !== undefined) {
    passphrase = env[issue.passphraseEnv];
    if (passphrase === undefined) throw new InputError(`station.issue.passphraseEnv: the environment variable ${issue.passphraseEnv} is not set`);
  } else if (issue.passphraseFile !== undefined) {
    passphrase = (await read(issue.passphraseFile, 'passphraseFile')).split(/\r?\n/)[0];
  }
  return issuanceSource({
    ca: { certPem: await read(issue.caCert, 'caCert'), keyPem: await read(issue.caKey, 'caKey'), ...(passphrase !== undefined ? { passphrase } : {}) },
    keyType: issue.keyType,
    days: issue.days,
    subjectTemplate: issue.subject,
    batch: issue.batch,
  });
}
