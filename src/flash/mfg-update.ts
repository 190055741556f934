import { AtPkiError, DeviceError, EchoMismatchError, InputError, VerifyError } from '../errors.js';
import { ignoreEvents, type EventSink } from './events.js';
import type { EspAtModule } from './module.js';
import { checkMfgName, checkMfgValueLength, eraseEntry, listKeys, MFG_TYPES, readValue, writeBytes } from './sysmfg.js';

/**
 * Namespaces whose credentials are numbered `<ns>.0`, `<ns>.1`…; the others hold one value under a
 * key named like the namespace (protocol §3.3).
 */
export const MULTI_KEY_NAMESPACES: ReadonlySet<string> = new Set(['client_cert', 'client_key', 'client_ca', 'wss_cert', 'wss_key', 'wss_ca', 'https_cert', 'https_key', 'https_ca']);
const SINGLE_KEY_NAMESPACES = /^(server|mqtt|wpa2|wpa_ent)_(cert|key|ca)$/;

export interface MfgUpdateOptions {
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Rewrite values even when the module already holds them. @default false */
  force?: boolean;
}

export interface MfgUpdateReport {
  namespace: string;
  /** Every key written or checked, in order, with its length and whether it was (re)written. */
  keys: { key: string; length: number; written: boolean }[];
  /** Stale keys of an earlier, longer set that were erased. */
  removed: string[];
  unchanged: boolean;
  bytesWritten: number;
  /** What garbled commands left that could not be undone, and what was cleaned up after them. */
  warnings: string[];
  verified: true;
  durationMs: number;
}

/** A namespace ESP-AT reads credentials from. */
export function isPkiNamespace(namespace: string): boolean {
  return MULTI_KEY_NAMESPACES.has(namespace) || SINGLE_KEY_NAMESPACES.test(namespace);
}

/** The keys a credential set goes to: `<ns>.<i>` for multi-key namespaces, `<ns>` for the others. */
export function keysFor(namespace: string, count: number): string[] {
  if (MULTI_KEY_NAMESPACES.has(namespace)) return Array.from({ length: count }, (_, i) => `${namespace}.${i}`);
  if (SINGLE_KEY_NAMESPACES.test(namespace)) {
    if (count !== 1) throw new InputError(`namespace ${namespace} holds exactly one credential (key "${namespace}"), got ${count}`, { details: { namespace, count } });
    return [namespace];
  }
  throw new InputError(
    `"${namespace}" is not a PKI namespace of ESP-AT (client_*, server_*, mqtt_*, wpa2_*, wss_*, https_* with _cert, _key or _ca); use 'at-pki mfg write' for other keys`,
    { details: { namespace } },
  );
}

/**
 * Make a namespace of mfg_nvs hold exactly these credentials (ESP-AT ≥ 3.1): each value as a binary
 * key (type 8), in order from `.0` with no gaps; values already there are not rewritten; stale
 * higher-numbered keys of an earlier set are erased (the firmware stops at the first gap, but a stale
 * key after a new set would be a lie); every key is read back and compared.
 */
export async function updateMfgNamespace(module: EspAtModule, namespace: string, values: readonly Uint8Array[], options: MfgUpdateOptions = {}): Promise<MfgUpdateReport> {
  const started = performance.now();
  const emit = options.onEvent ?? ignoreEvents;
  const signal = options.signal;
  checkMfgName(namespace, 'namespace');
  if (values.length === 0) throw new InputError(`no credentials to write to ${namespace}`);
  const keys = keysFor(namespace, values.length);
  values.forEach((value, i) => checkMfgValueLength(value.length, `${keys[i]} (${value.length} bytes)`));
  const total = values.reduce((sum, v) => sum + v.length, 0);
  const session = module.session;
  const warnings: string[] = [];
  let report: MfgUpdateReport['keys'] = [];
  let bytesWritten = 0;
  const touched: string[] = [];
  const removed: string[] = [];
  const everWritten = new Set<string>();

  /**
   * A write whose echo differed was filled with 0xFF: that value now sits under whatever name the
   * module received. If that is not one of ours, erase it; ours are compared again in the next pass.
   */
  const cleanUpAfterGarbledWrite = async (error: EchoMismatchError): Promise<void> => {
    const echoed = typeof error.details.echoedCommand === 'string' ? error.details.echoedCommand : undefined;
    const match = echoed ? /^AT\+SYSMFG=2,"((?:[^"\\]|\\.)*)","((?:[^"\\]|\\.)*)",/.exec(echoed) : null;
    const [ns, key] = match ? [match[1]!, match[2]!] : [undefined, undefined];
    if (ns === namespace && key !== undefined && keys.includes(key)) return;
    let nameable = ns !== undefined && key !== undefined;
    try {
      if (nameable) {
        checkMfgName(ns!, 'namespace');
        checkMfgName(key!, 'key');
      }
    } catch {
      nameable = false;
    }
    if (!nameable) {
      warnings.push(`a garbled write command was filled with ${String(error.details.filledBytes)} bytes of 0xFF under a key whose name could not be read back; check the namespaces with 'at-pki mfg list'`);
      return;
    }
    touched.push(`${ns}/${key}`);
    try {
      await eraseEntry(session, ns!, key!, { signal });
      warnings.push(`a garbled write command stored 0xFF bytes under ${ns}/${key}; that key was erased (if it held a value before, that value is gone)`);
    } catch (eraseError) {
      if (!(eraseError instanceof DeviceError) || eraseError instanceof EchoMismatchError) throw eraseError;
      // Not there: the echo was garbled on its way back and the module wrote our own key.
    }
  };
  const writeValue = async (key: string, value: Buffer): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await writeBytes(session, namespace, key, MFG_TYPES.binary, value, { signal });
        return;
      } catch (error) {
        if (!(error instanceof EchoMismatchError) || attempt >= 3) throw error;
        await cleanUpAfterGarbledWrite(error);
      }
    }
  };

  const runPass = async (force: boolean): Promise<void> => {
    report = [];
    const existing = await listKeys(session, namespace, { signal }).catch((error: unknown) => {
      // A namespace that does not exist yet answers ERROR: it simply has no keys.
      if (error instanceof DeviceError) return [];
      throw error;
    });
    const present = new Set(existing.map((entry) => entry.key));

    let compared = 0;
    for (const [i, key] of keys.entries()) {
      const value = Buffer.from(values[i]!);
      let same = false;
      if (!force && present.has(key)) {
        const current = await readValue(session, namespace, key, { signal });
        same = current.type === MFG_TYPES.binary && current.bytes !== undefined && current.bytes.equals(value);
        compared += value.length;
        emit({ type: 'progress', phase: 'compare', done: compared, total, unit: 'bytes' });
      }
      if (!same) {
        touched.push(key);
        await writeValue(key, value);
        bytesWritten += value.length;
        emit({ type: 'progress', phase: 'write', done: bytesWritten, total, unit: 'bytes' });
      }
      if (!same) everWritten.add(key);
      report.push({ key, length: value.length, written: everWritten.has(key) });
    }

    const staleIn = (entries: readonly { key: string }[]): string[] => staleKeys(namespace, keys, entries);
    const eraseStale = async (stale: readonly string[]): Promise<void> => {
      for (const key of stale) {
        touched.push(key);
        try {
          await eraseEntry(session, namespace, key, { signal });
        } catch (error) {
          // Gone already (erased after a garbled write named it): the final listing checks it anyway.
          if (!(error instanceof DeviceError) || error instanceof EchoMismatchError) throw error;
        }
        removed.push(key);
        emit({ type: 'log', level: 'info', message: `erased stale key ${namespace}/${key}` });
      }
    };
    await eraseStale(staleIn(existing));

    let verified = 0;
    for (const [i, key] of keys.entries()) {
      if (!report[i]!.written) continue; // compared byte for byte above
      const back = await readValue(session, namespace, key, { signal });
      if (back.type !== MFG_TYPES.binary || !back.bytes?.equals(Buffer.from(values[i]!))) {
        throw new VerifyError(`verification failed: ${namespace}/${key} does not hold what was written`, { details: { namespace, key } });
      }
      verified += values[i]!.length;
      emit({ type: 'progress', phase: 'verify', done: verified, total: bytesWritten, unit: 'bytes' });
    }

    // The namespace as the module lists it now. The first listing may have been lost (ERROR, taken for
    // "no keys yet") or garbled on the line, and a stale <ns>.<i> right after the new set would be read
    // by the firmware: every key must be there, and nothing stale after them.
    let listed = await listKeys(session, namespace, { signal });
    const staleLeft = staleIn(listed);
    if (staleLeft.length > 0) {
      await eraseStale(staleLeft);
      listed = await listKeys(session, namespace, { signal });
    }
    const missing = keys.filter((key) => !listed.some((entry) => entry.key === key && entry.type === MFG_TYPES.binary));
    const stale = staleIn(listed);
    if (missing.length > 0 || stale.length > 0) {
      throw new VerifyError(
        `verification failed: the module lists namespace ${namespace} ` +
          `${missing.length > 0 ? `without ${missing.join(', ')}` : ''}${missing.length > 0 && stale.length > 0 ? ' and ' : ''}${stale.length > 0 ? `with stale ${stale.join(', ')}` : ''}`,
        { details: { namespace, missing, stale } },
      );
    }
  };

  /** One pass; false when it failed after a garbled command (which may have caused the failure: a read turned erase). */
  const attemptPass = async (force: boolean): Promise<{ clean: boolean }> => {
    const before = session.suspectEvents;
    try {
      await runPass(force);
    } catch (error) {
      if ((error instanceof DeviceError || error instanceof VerifyError) && session.suspectEvents !== before) return { clean: false };
      throw error;
    }
    return { clean: session.suspectEvents === before };
  };

  try {
    let outcome = await attemptPass(options.force ?? false);
    // A command came back garbled on the way (it may have written or erased another key of ours): go
    // over the whole set again, comparing every key, until a pass runs clean.
    for (let pass = 0; !outcome.clean; pass++) {
      if (pass === 3) throw new VerifyError(`verification failed: ${namespace} could not be checked without garbled commands (the line is too noisy)`, { details: { namespace } });
      emit({ type: 'log', level: 'warn', message: `a command to ${namespace} was garbled on the line; checking every key again` });
      outcome = await attemptPass(false);
    }
  } catch (error) {
    if (error instanceof AtPkiError) {
      error.details.deviceState =
        touched.length === 0
          ? `unchanged: nothing was written to ${namespace}`
          : `modified: key(s) ${touched.join(', ')} of ${namespace} were being written or erased; run the update again`;
    }
    throw error;
  }
  return {
    namespace,
    keys: report,
    removed,
    unchanged: bytesWritten === 0 && removed.length === 0 && touched.length === 0,
    bytesWritten,
    warnings,
    verified: true,
    durationMs: Math.round(performance.now() - started),
  };
}

/** Keys `<ns>.<i>` of a multi-key namespace listed in `entries` that are not part of the set `keys`. */
export function staleKeys(namespace: string, keys: readonly string[], entries: readonly { key: string }[]): string[] {
  return entries
    .map((entry) => entry.key)
    .filter((key) => MULTI_KEY_NAMESPACES.has(namespace) && key.startsWith(`${namespace}.`) && !keys.includes(key) && /^\d+$/.test(key.slice(namespace.length + 1)));
}
