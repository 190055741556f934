/**
 * `at-pki inspect` for NVS partition images: ESP-AT's mfg_nvs, esp_secure_cert's legacy nvs layout,
 * any other NVS partition. A damaged image (CRC errors, missing chunks…) or validation errors exit 2
 * after the report; with --json the report is then in error.details.report.
 */
import { InputError } from '../errors.js';
import type { BinFile } from '../flash/bin-file.js';
import { isPkiNamespace, MULTI_KEY_NAMESPACES } from '../flash/mfg-update.js';
import { decodeNvs, type DecodedNvs, type NvsItem } from '../pki/nvs/decoder.js';
import { SECURE_CERT_NVS_NAMESPACES } from '../pki/nvs/detect.js';
import { describeNvsValue } from '../pki/nvs/value-info.js';
import { pkiTypeOfPartition, type PkiItem, type PkiType } from '../pki/types.js';
import type { CliIo } from './io.js';
import { credentialGroupOf, validateCredentialGroups } from './nvs-validation.js';
import { buildNvsReport, nvsReportErrors, renderNvsReport } from './nvs-report.js';
import { printResult } from './output.js';

export function inspectNvsFile(io: CliIo, file: BinFile, json: boolean | undefined): void {
  const decoded = decodeNvs(file.bytes);
  const contents = decoded.items.map(describeNvsValue);
  const { firmware, groups } = firmwareView(decoded);
  const report = buildNvsReport(file.path, file.format, decoded, contents, firmware, validateCredentialGroups(groups));
  const failures = nvsReportErrors(report);
  if (failures.length === 0) {
    printResult(io, json, renderNvsReport(report), report);
    return;
  }
  if (!json) io.stdout(`${renderNvsReport(report)}\n`);
  const what = decoded.valid ? '' : 'damaged NVS image: ';
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more error${failures.length === 2 ? '' : 's'})` : '';
  throw new InputError(`${file.path}: ${what}${failures[0]}${more}`, { details: { report } });
}

/** esp_secure_cert's legacy nvs keys and what they hold. */
const SECURE_CERT_KEYS: readonly { key: string; type: PkiType; name: string }[] = [
  { key: 'dev_cert', type: 'cert', name: 'device cert' },
  { key: 'ca_cert', type: 'ca', name: 'CA cert' },
  { key: 'priv_key', type: 'key', name: 'private key' },
];

/**
 * What the firmware reads: ESP-AT takes `<ns>.0`, `<ns>.1`… up to the first gap (client/wss/https)
 * or the key named like the namespace; esp_secure_cert_mgr takes dev_cert, ca_cert, priv_key (or
 * the DS values). Returns notes for the report and the credential groups to validate.
 */
function firmwareView(decoded: DecodedNvs): { firmware: string[]; groups: PkiItem[][] } {
  const firmware: string[] = [];
  const groups = new Map<string, PkiItem[]>();
  const valueOf = (item: NvsItem): Buffer | undefined => item.bytes;
  for (const ns of decoded.namespaces) {
    const items = decoded.items.filter((item) => item.namespaceIndex === ns.index);
    if (SECURE_CERT_NVS_NAMESPACES.includes(ns.name)) {
      firmware.push(`esp_secure_cert_mgr (legacy nvs layout), namespace ${ns.name}:`);
      const group: PkiItem[] = [];
      for (const { key, type, name } of SECURE_CERT_KEYS) {
        const item = items.find((candidate) => candidate.key === key);
        if (!item) {
          firmware.push(`  ${name}: none`);
          continue;
        }
        firmware.push(`  ${name}: ${ns.name}/${key} (${item.type}${item.type === 'string' ? '' : '; the reader expects a string'})`);
        const bytes = valueOf(item);
        if (bytes) group.push({ type, content: bytes, source: `${ns.name}/${key}` });
      }
      const ds = ['cipher_c', 'iv', 'rsa_len', 'ds_key_id'].filter((key) => items.some((item) => item.key === key));
      if (ds.length > 0) firmware.push(`  DS peripheral values: ${ds.join(', ')}`);
      if (group.length > 0) groups.set(ns.name, group);
      continue;
    }
    if (!isPkiNamespace(ns.name)) continue;
    const type = pkiTypeOfPartition(ns.name)!;
    const read: NvsItem[] = [];
    if (MULTI_KEY_NAMESPACES.has(ns.name)) {
      for (let i = 0; ; i++) {
        const item = items.find((candidate) => candidate.key === `${ns.name}.${i}`);
        if (!item) break;
        read.push(item);
      }
    } else {
      const item = items.find((candidate) => candidate.key === ns.name);
      if (item) read.push(item);
    }
    const unread = items.filter((item) => !read.includes(item));
    firmware.push(`ESP-AT reads ${ns.name}: ${read.length === 0 ? 'nothing' : read.map((item) => item.key).join(', ')}`);
    if (unread.length > 0) {
      const expected = MULTI_KEY_NAMESPACES.has(ns.name) ? `${ns.name}.0, ${ns.name}.1… (up to the first gap)` : ns.name;
      firmware.push(`  not read (the firmware looks for ${expected}): ${unread.map((item) => item.key).join(', ')}`);
    }
    const group = credentialGroupOf(ns.name);
    const members = groups.get(group) ?? [];
    for (const item of read) {
      const bytes = valueOf(item);
      if (bytes) members.push({ type, content: bytes, source: `${ns.name}/${item.key}` });
    }
    groups.set(group, members);
  }
  return { firmware, groups: [...groups.values()].filter((group) => group.length > 0) };
}
