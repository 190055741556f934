/**
 * Provision the unit on a port, exactly once: identify it (eFuse MAC), claim its set in the ledger
 * (the same set again for the same unit), write every partition or mfg_nvs namespace of the set with
 * the ordinary update flow (compare → erase what changes → write → read back), and record the
 * outcome. The ledger's rule: a reservation is released only while no byte of the set can have
 * reached the module; from `writing` on the set stays bound to the unit for good (failed and suspect
 * assignments are retried on the same unit, never handed on).
 */
import { join } from 'node:path';
import { AtPkiError, BatchExhaustedError, DisconnectedError, InputError, WrongUnitError } from '../../errors.js';
import { ignoreEvents, type EventSink } from '../../flash/events.js';
import { readDeviceIdentity, type DeviceIdentity } from '../../flash/identity.js';
import type { EspAtModule, StorageMode } from '../../flash/module.js';
import { keysFor } from '../../flash/mfg-update.js';
import { updateCredentials } from '../../flash/update-credentials.js';
import type { Assignment, Ledger, LedgerContext } from '../ledger/ledger.js';
import { loadRecordedSet, type CredentialSet } from './credential-set.js';

export type CredentialSource =
  /** Ready-made sets of an imported batch. */
  | { kind: 'batch'; batch: string }
  /** A fresh set per unit from a factory CA; `issue` gets the MAC as 12 lowercase hex digits. */
  | { kind: 'issue'; batch: string; source: string; issue: (mac: string) => Promise<CredentialSet> };

/** Where a unit is in its provisioning, for the operator's board and the event stream. */
export type ProvisionStep = 'identified' | 'claimed' | 'writing' | 'verified';

export interface ProvisionOptions {
  context: LedgerContext;
  signal?: AbortSignal;
  onEvent?: EventSink;
  onStep?: (step: ProvisionStep, info: { device?: string; set?: string; subject?: string }) => void;
  /** The unit this work belongs to: another MAC on the port → WrongUnitError, nothing written. */
  expectedMac?: string;
  /** Identity already read on this connection (station mode reads it to notice a new unit). */
  identity?: DeviceIdentity;
}

export interface TargetOutcome {
  target: string;
  storage: StorageMode;
  unchanged: boolean;
  bytesWritten: number;
}

export interface ProvisionResult {
  /** `aa:bb:cc:dd:ee:ff`. */
  device: string;
  identitySource: DeviceIdentity['source'];
  chip: string;
  firmware: string;
  batch: string;
  /** The set's name; absent for issued credentials. */
  set?: string;
  assignmentId: number;
  certSerial: string;
  certSha256: string;
  subject: string;
  storage: StorageMode;
  /** The unit was verified before this run (provisioned again: nothing written when it still holds the set). */
  alreadyVerified: boolean;
  /** Nothing had to be written. */
  unchanged: boolean;
  bytesWritten: number;
  targets: TargetOutcome[];
  warnings: string[];
}

export async function provisionUnit(module: EspAtModule, ledger: Ledger, source: CredentialSource, options: ProvisionOptions): Promise<ProvisionResult> {
  const { context, signal } = options;
  const emit = options.onEvent ?? ignoreEvents;
  const identity = options.identity ?? (await readDeviceIdentity(module, { signal }));
  if (options.expectedMac !== undefined && identity.mac !== options.expectedMac) {
    throw new WrongUnitError(`the unit on ${module.url} is ${identity.mac}, not ${options.expectedMac}: nothing written`, {
      details: { expected: options.expectedMac, found: identity.mac, deviceState: 'unchanged' },
    });
  }
  const mac = identity.mac;
  for (const warning of identity.warnings) emit({ type: 'log', level: 'warn', message: warning });
  const storage = await module.storageMode({ signal });
  await ledger.recordDevice(
    { mac, chip: identity.chip, firmware: identity.firmware, storageMode: storage, identitySource: identity.source, ...(identity.stationMac ? { stationMac: identity.stationMac } : {}), warnings: identity.warnings },
    context,
  );
  options.onStep?.('identified', { device: mac });
  emit({ type: 'log', level: 'info', message: `unit ${mac} (${identity.chip}, ESP-AT ${identity.firmware}, identity from ${identity.source === 'efuse' ? 'eFuse' : 'the station MAC'})` });

  const claimed = await claimFor(ledger, source, mac, context);
  const assignment = claimed.assignment;
  const setName = source.kind === 'batch' ? assignment.set.name : undefined;
  const base = {
    device: mac,
    identitySource: identity.source,
    chip: identity.chip,
    firmware: identity.firmware,
    batch: assignment.batch,
    ...(setName !== undefined ? { set: setName } : {}),
    assignmentId: assignment.id,
    certSerial: assignment.set.serialHex,
    certSha256: assignment.set.sha256Hex,
    subject: assignment.set.subject,
    storage,
    warnings: identity.warnings,
  };
  options.onStep?.('claimed', { device: mac, set: setName, subject: assignment.set.subject });
  emit({
    type: 'log',
    level: 'info',
    message: `${claimed.kind === 'claimed' ? 'claimed' : 'same as before:'} ${setName ? `set ${setName}` : `certificate ${assignment.set.serialHex}`} of batch ${assignment.batch} (${assignment.set.subject})${claimed.kind === 'existing' ? `, ${assignment.state}` : ''}`,
  });
  // An issued set already verified on this unit: its key is gone with the process that made it.
  if (claimed.set === undefined) return { ...base, alreadyVerified: true, unchanged: true, bytesWritten: 0, targets: [] };

  const alreadyVerified = assignment.state === 'verified';
  // Checks that need no byte written: a failure here releases a fresh reservation.
  try {
    await checkTargets(module, claimed.set, storage, signal);
  } catch (error) {
    if (assignment.state === 'reserved') await ledger.release(assignment.id, context, `not written: ${oneLine(error)}`);
    throw error;
  }

  await ledger.transition(assignment.id, 'writing', context);
  options.onStep?.('writing', { device: mac, set: setName, subject: assignment.set.subject });
  const targets: TargetOutcome[] = [];
  try {
    for (const target of claimed.set.targets) {
      const outcome = await updateCredentials(module, target.target, { bin: target.bin, items: target.items, format: 'atpki' }, { signal, onEvent: emit });
      targets.push({
        target: target.target,
        storage: outcome.storage,
        unchanged: outcome.report.unchanged,
        bytesWritten: outcome.report.bytesWritten,
      });
    }
  } catch (error) {
    const state = error instanceof DisconnectedError ? 'suspect' : 'failed';
    const reason = oneLine(error);
    await ledger.transition(assignment.id, state, context, reason).catch(() => {});
    if (error instanceof AtPkiError) {
      error.details.assignment = { id: assignment.id, state, set: setName ?? assignment.set.serialHex };
      if (typeof error.details.deviceState !== 'string') error.details.deviceState = 'may hold part of the set; it stays bound to this unit: provision it again';
    }
    throw error;
  }
  const bytesWritten = targets.reduce((sum, t) => sum + t.bytesWritten, 0);
  const unchanged = targets.every((t) => t.unchanged);
  await ledger.transition(assignment.id, 'verified', context, undefined, { bytesWritten, unchanged, targets: targets.map((t) => t.target) });
  options.onStep?.('verified', { device: mac, set: setName, subject: assignment.set.subject });
  return { ...base, alreadyVerified, unchanged, bytesWritten, targets };
}

interface Claimed {
  kind: 'claimed' | 'existing';
  assignment: Assignment;
  /** The bytes to write; undefined for an issued set verified earlier (nothing to write, no key). */
  set: CredentialSet | undefined;
}

async function claimFor(ledger: Ledger, source: CredentialSource, mac: string, context: LedgerContext): Promise<Claimed> {
  if (source.kind === 'batch') {
    const claim = await ledger.claim({ batch: source.batch, device: mac }, context);
    if (claim.kind === 'exhausted') {
      throw new BatchExhaustedError(`batch ${source.batch} is exhausted: all ${claim.batch.total} sets are assigned; nothing was written to unit ${mac}`, {
        details: { batch: source.batch, total: claim.batch.total, device: mac, deviceState: 'unchanged' },
      });
    }
    const batch = (await ledger.batch(source.batch))!;
    try {
      const set = await loadRecordedSet(join(batch.source, claim.assignment.set.name), claim.assignment.set);
      return { kind: claim.kind, assignment: claim.assignment, set };
    } catch (error) {
      if (claim.assignment.state === 'reserved') await ledger.release(claim.assignment.id, context, `not written: ${oneLine(error)}`);
      throw error;
    }
  }
  await ledger.ensureIssuedBatch({ name: source.batch, kind: 'issued', source: source.source }, context);
  const current = await ledger.currentAssignment(source.batch, mac);
  if (current?.state === 'verified') return { kind: 'existing', assignment: current, set: undefined };
  if (current?.state === 'reserved') await ledger.release(current.id, context, 'superseded: its key did not survive the process that issued it');
  else if (current) await ledger.retire(current.id, context, `its key was lost (${current.state} when the issuing process ended); a new certificate is issued, this one stays bound to ${mac}`);
  const set = await source.issue(mac.replace(/:/g, ''));
  const claim = await ledger.claimIssued({ batch: source.batch, device: mac, set: set.record }, context);
  if (claim.kind !== 'claimed') throw new InputError(`unit ${mac} got a set from another station at the same time; provision it again`, { details: { device: mac, deviceState: 'unchanged' } });
  return { kind: 'claimed', assignment: claim.assignment, set };
}

/** Before any byte: a partition module must have every partition the set fills. */
async function checkTargets(module: EspAtModule, set: CredentialSet, storage: StorageMode, signal: AbortSignal | undefined): Promise<void> {
  for (const target of set.targets) {
    if (storage === 'mfg_nvs') keysFor(target.target, target.items.length);
    else await module.partition(target.target, { signal });
  }
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').slice(0, 300);
}
