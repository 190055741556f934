/**
 * Validate the credentials of an NVS image group by group (client_cert + client_key + client_ca,
 * server_*…, esp_secure_cert's three keys): what a firmware uses together. Findings about a
 * single PKI bin (mixed item types, the bin's item limit) do not apply to namespaces.
 */
import type { PkiItem } from '../pki/types.js';
import { validatePkiItems, type Finding } from '../pki/validate.js';

const BIN_ONLY = new Set<Finding['code']>(['MIXED_TYPES', 'TOO_MANY_ITEMS']);

export function validateCredentialGroups(groups: Iterable<readonly PkiItem[]>): { errors: Finding[]; warnings: Finding[] } {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  for (const items of groups) {
    if (items.length === 0) continue;
    const result = validatePkiItems(items);
    errors.push(...result.errors.filter((finding) => !BIN_ONLY.has(finding.code)));
    warnings.push(...result.warnings.filter((finding) => !BIN_ONLY.has(finding.code)));
  }
  return { errors, warnings };
}

/** The group of a PKI namespace: its name without _cert, _key, _ca. */
export function credentialGroupOf(namespace: string): string {
  return namespace.replace(/_(cert|key|ca)$/, '');
}
