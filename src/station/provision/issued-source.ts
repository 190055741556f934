/**
 * The per-device issuance source: the factory CA loaded and checked once (before any unit), then for
 * each unit a fresh key and certificate (issuer.ts), written as client_ca (the CA chain),
 * client_cert and client_key. The private key lives only in the returned set, in memory.
 */
import { createHash } from 'node:crypto';
import { checkIssueOptions, issueDeviceCredentials, loadFactoryCa, type DeviceKeyType, type FactoryCaInput } from '../issuance/issuer.js';
import { credentialSet } from './credential-set.js';
import type { CredentialSource } from './provision-unit.js';
import { checkBatchName } from './batch-import.js';

export interface IssuanceOptions {
  ca: FactoryCaInput;
  keyType?: DeviceKeyType;
  days?: number;
  subjectTemplate?: string;
  /** The ledger batch the issued sets go to. @default `ca-` + the first 16 hex digits of the CA certificate's SHA-256 */
  batch?: string;
}

export async function issuanceSource(options: IssuanceOptions): Promise<Extract<CredentialSource, { kind: 'issue' }>> {
  const ca = await loadFactoryCa(options.ca);
  const issueOptions = { keyType: options.keyType, days: options.days, subjectTemplate: options.subjectTemplate };
  checkIssueOptions(ca, issueOptions);
  const caSha256 = createHash('sha256').update(ca.certificate.raw).digest('hex');
  const batch = options.batch ?? `ca-${caSha256.slice(0, 16)}`;
  checkBatchName(batch);
  return {
    kind: 'issue',
    batch,
    source: `sha256:${caSha256}`,
    issue: async (mac) => {
      const issued = await issueDeviceCredentials(ca, mac, issueOptions);
      return credentialSet(issued.serialHex, [
        { target: 'client_ca', items: [{ type: 'ca', content: Buffer.from(issued.caChainPem), source: 'factory CA chain' }] },
        { target: 'client_cert', items: [{ type: 'cert', content: Buffer.from(issued.certificatePem), source: `issued certificate ${issued.serialHex}` }] },
        { target: 'client_key', items: [{ type: 'key', content: Buffer.from(issued.privateKeyPem), source: 'issued key' }] },
      ]);
    },
  };
}
