/**
 * The documented whole-partition way to update an NVS partition (ESP-AT's How_to_update_mfg_nvs:
 * erase, then write a pre-built mfg_nvs.bin with AT+SYSFLASH): the image is checked to be a clean
 * NVS image that fits, then goes through the same compare → erase → write → read back path as any
 * partition (update.ts); the rest of the partition ends up erased. The NVS library caches page
 * state, so the module only sees the new values after a restart: done here when asked.
 */
import { AtPkiError, InputError } from '../errors.js';
import { decodeNvs } from '../pki/nvs/decoder.js';
import type { EventSink } from './events.js';
import type { EspAtModule } from './module.js';
import { restartModule } from './restart.js';
import { updatePartition, type UpdateReport } from './update.js';

export interface NvsPartitionUpdateReport extends UpdateReport {
  /** Keys in the image. */
  keys: number;
  /** AT+RST was sent and `ready` came back. */
  restarted: boolean;
  /** Not restarted here: the module may still run with the values it loaded at boot. */
  restartNeeded: boolean;
}

/** InputError unless the bytes are an NVS image without errors. */
export function checkNvsImage(image: Uint8Array, name: string): { keys: number } {
  let decoded;
  try {
    decoded = decodeNvs(image);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${name}: not an NVS partition image: ${error.message}`, { details: { deviceState: 'unchanged' } });
    throw error;
  }
  if (!decoded.pages.some((page) => page.state !== 'blank')) throw new InputError(`${name}: not an NVS partition image (no page in use)`, { details: { deviceState: 'unchanged' } });
  const problem = decoded.problems.find((candidate) => candidate.severity === 'error');
  if (problem) throw new InputError(`${name}: damaged NVS image: ${problem.message} ('at-pki inspect' shows all)`, { details: { deviceState: 'unchanged' } });
  return { keys: decoded.items.length };
}

export async function updateNvsPartition(
  module: EspAtModule,
  label: string,
  image: Uint8Array,
  options: { signal?: AbortSignal; onEvent?: EventSink; force?: boolean; restart?: boolean; name?: string } = {},
): Promise<NvsPartitionUpdateReport> {
  const { keys } = checkNvsImage(image, options.name ?? 'the image');
  const report = await updatePartition(module, label, image, options);
  if (!options.restart) return { ...report, keys, restarted: false, restartNeeded: true };
  options.onEvent?.({ type: 'log', level: 'info', message: 'restarting the module (AT+RST) so that it loads the new partition' });
  try {
    await restartModule(module.session, { signal: options.signal });
  } catch (error) {
    if (error instanceof AtPkiError) error.details.deviceState = `${label} written and verified; the restart (AT+RST) did not complete: restart the module before it uses the new values`;
    throw error;
  }
  return { ...report, keys, restarted: true, restartNeeded: false };
}
