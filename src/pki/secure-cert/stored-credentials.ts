/**
 * The certificates and plaintext key an image holds, checked together with the validation
 * `generate` does for PKI bins (key belongs to the device certificate, certificates verify against
 * the CA they name, validity periods).
 */
import type { PkiItem, PkiType } from '../types.js';
import { validatePkiItems, type ValidateOptions, type ValidationResult } from '../validate.js';
import type { DecodedSecureCert } from './inspect.js';
import { hexOffset } from './problems.js';
import { entryLabel } from './tlv-entry.js';
import { TlvType } from './tlv-types.js';

/** Findings that are about ESP-AT PKI bins only (one type per bin, item count byte). */
const PKI_BIN_ONLY = new Set(['MIXED_TYPES', 'TOO_MANY_ITEMS']);

/**
 * The stored certificates (ca, cert) and plaintext private keys (key) the firmware can read, in
 * image order; entries with a bad CRC are left out (the firmware refuses them). `source` says where
 * each is (`DEV_CERT/0 at 0x02d0`).
 */
export function storedCredentials(image: DecodedSecureCert): PkiItem[] {
  const items: PkiItem[] = [];
  if (image.layout === 'tlv') return storedTlvCredentials(image).map(({ item }) => item);
  const roles: Readonly<Record<string, PkiType>> = { ca_cert: 'ca', dev_cert: 'cert', priv_key: 'key' };
  for (const item of image.items) {
    const type = roles[item.name];
    if (type === undefined || !item.crcOk || item.info === undefined || item.info.kind === 'unreadable') continue;
    items.push({ type, content: item.value!, source: `${item.name} at ${hexOffset(item.offset)}` });
  }
  return items;
}

/**
 * The stored credentials in the groups the firmware uses together: per subtype of DEV_CERT and
 * PRIV_KEY, that certificate and key with every CA certificate (a CA subtype is not tied to a device
 * subtype). Only the CA certificates when there is neither.
 */
export function storedCredentialGroups(image: DecodedSecureCert): PkiItem[][] {
  if (image.layout !== 'tlv') return [storedCredentials(image)];
  const stored = storedTlvCredentials(image);
  const cas = stored.filter(({ item }) => item.type === 'ca').map(({ item }) => item);
  const subtypes = [...new Set(stored.filter(({ item }) => item.type !== 'ca').map(({ subtype }) => subtype))];
  if (subtypes.length === 0) return [cas];
  return subtypes.map((subtype) => [...cas, ...stored.filter((candidate) => candidate.item.type !== 'ca' && candidate.subtype === subtype).map(({ item }) => item)]);
}

function storedTlvCredentials(image: Extract<DecodedSecureCert, { layout: 'tlv' }>): { item: PkiItem; subtype: number }[] {
  const roles: Readonly<Record<number, PkiType>> = { [TlvType.CA_CERT]: 'ca', [TlvType.DEV_CERT]: 'cert', [TlvType.PRIV_KEY]: 'key' };
  const stored: { item: PkiItem; subtype: number }[] = [];
  for (const { entry, info } of image.entries) {
    const type = roles[entry.type];
    if (type === undefined || !entry.crcOk || !(info.kind === 'certificate' || (info.kind === 'private-key' && info.key))) continue;
    stored.push({ item: { type, content: entry.value, source: `${entryLabel(entry)} at ${hexOffset(entry.offset)}` }, subtype: entry.subtype });
  }
  return stored;
}

/** validatePkiItems over the stored credentials, without the findings that only make sense for PKI bins. */
export function validateStoredCredentials(items: readonly PkiItem[], options: ValidateOptions = {}): ValidationResult {
  const result = validatePkiItems(items, options);
  return { ...result, warnings: result.warnings.filter((finding) => !PKI_BIN_ONLY.has(finding.code)) };
}
