/**
 * Credential batches for the station tests, made in-test (nothing committed): a throw-away factory
 * CA, and per set a fresh key and certificate from it, written in ESP-AT's raw_data layout
 * (DIR/<set>/client_ca/ca.pem, client_cert/cert.pem, client_key/key.pem).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueDeviceCredentials, loadFactoryCa, type FactoryCa } from '../../../src/station/issuance/issuer.js';
import { makeTestCa, type TestCa } from '../issuance/test-ca.js';

export interface TestBatch {
  dir: string;
  sets: { name: string; certificatePem: string; privateKeyPem: string; caChainPem: string; sha256Hex: string }[];
}

export interface TestFactory {
  testCa: TestCa;
  ca: FactoryCa;
}

export async function testFactory(): Promise<TestFactory> {
  const testCa = await makeTestCa();
  return { testCa, ca: await loadFactoryCa({ certPem: testCa.certPem, keyPem: testCa.keyPem }) };
}

/** `count` sets named `<prefix>-000`… in `dir`. */
export async function writeBatch(factory: TestFactory, dir: string, count: number, prefix = 'set'): Promise<TestBatch> {
  const sets: TestBatch['sets'] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(3, '0')}`;
    // The MAC only shapes the subject here: batch sets are not tied to a unit until claimed.
    const issued = await issueDeviceCredentials(factory.ca, (0xb0000000000 + sets.length + Math.floor(Math.random() * 1e6) * 100).toString(16).padStart(12, '0'));
    writeSet(dir, name, { ca: issued.caChainPem, cert: issued.certificatePem, key: issued.privateKeyPem });
    sets.push({ name, certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem, caChainPem: issued.caChainPem, sha256Hex: issued.sha256Hex });
  }
  return { dir, sets };
}

export function writeSet(dir: string, name: string, files: { ca?: string; cert: string; key: string }): void {
  const put = (target: string, file: string, content: string): void => {
    mkdirSync(join(dir, name, target), { recursive: true });
    writeFileSync(join(dir, name, target, file), content);
  };
  if (files.ca !== undefined) put('client_ca', 'ca.pem', files.ca);
  put('client_cert', 'cert.pem', files.cert);
  put('client_key', 'key.pem', files.key);
}
