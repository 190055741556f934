import type { PkiItem } from '../pki/types.js';
import type { EventSink } from './events.js';
import { updateMfgNamespace, type MfgUpdateReport } from './mfg-update.js';
import type { EspAtModule } from './module.js';
import { updatePartition, type UpdateReport } from './update.js';

export type CredentialsUpdate = { storage: 'partitions'; report: UpdateReport } | { storage: 'mfg_nvs'; report: MfgUpdateReport };

/**
 * `update` for whatever the module is: a partition of that name gets the bin (ESP-AT ≤ 3.0); on a
 * module keeping credentials in mfg_nvs (ESP-AT ≥ 3.1), the name is a namespace and each item becomes
 * a key. The CLI and the daemon both come through here.
 */
export async function updateCredentials(
  module: EspAtModule,
  target: string,
  credentials: { bin: Uint8Array; items: readonly PkiItem[]; format?: 'atpki' | 'esp-secure-cert' },
  options: { signal?: AbortSignal; onEvent?: EventSink; force?: boolean } = {},
): Promise<CredentialsUpdate> {
  const signal = options.signal;
  const hasPartition = (await module.partitions({ signal })).some((p) => p.label === target);
  // An esp_secure_cert image is a whole partition's content: it never goes into mfg_nvs keys.
  if (!hasPartition && credentials.format !== 'esp-secure-cert' && (await module.storageMode({ signal })) === 'mfg_nvs') {
    const values = credentials.items.map((item) => item.content);
    return { storage: 'mfg_nvs', report: await updateMfgNamespace(module, target, values, options) };
  }
  return { storage: 'partitions', report: await updatePartition(module, target, credentials.bin, options) };
}
