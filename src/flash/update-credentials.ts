import { InputError } from '../errors.js';
import type { PkiItem } from '../pki/types.js';
import type { EventSink } from './events.js';
import { updateMfgNamespace, type MfgUpdateReport } from './mfg-update.js';
import type { EspAtModule } from './module.js';
import { isCredentialPartition, type Partition } from './partition-table.js';
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
  options: { signal?: AbortSignal; onEvent?: EventSink; force?: boolean; anyPartition?: boolean } = {},
): Promise<CredentialsUpdate> {
  const signal = options.signal;
  const partition = (await module.partitions({ signal })).find((p) => p.label === target);
  const hasPartition = partition !== undefined;
  // An esp_secure_cert image is a whole partition's content: it never goes into mfg_nvs keys.
  if (!hasPartition && credentials.format !== 'esp-secure-cert' && (await module.storageMode({ signal })) === 'mfg_nvs') {
    const values = credentials.items.map((item) => item.content);
    return { storage: 'mfg_nvs', report: await updateMfgNamespace(module, target, values, options) };
  }
  if (partition && !options.anyPartition) checkCredentialPartition(partition);
  return { storage: 'partitions', report: await updatePartition(module, target, credentials.bin, options) };
}

/** The stable reason code of a refusal to put credentials into a partition that does not hold them. */
export const NOT_A_CREDENTIAL_PARTITION = 'NOT_A_CREDENTIAL_PARTITION';

/**
 * `update` writes credentials only where credentials live (isCredentialPartition): a bin sent to
 * fatfs or factory_param would erase what is there for nothing the firmware reads. `write` is the raw
 * tool; `--any-partition` (`anyPartition` for the daemon) overrides this.
 */
export function checkCredentialPartition(partition: Partition): void {
  if (isCredentialPartition(partition)) return;
  throw new InputError(
    `${partition.label} is not a credential partition (type 0x${partition.type.toString(16)}, subtype ${partition.subtype}): ` +
      `update writes PKI partitions (type 0x40 <feature>_cert/_key/_ca) and esp_secure_cert only; --any-partition overrides, 'write' writes raw bytes`,
    { details: { partition: partition.label, type: partition.type, subtype: partition.subtype, reason: NOT_A_CREDENTIAL_PARTITION, deviceState: 'unchanged' } },
  );
}
