/**
 * What an NVS value holds, for reports: integers and plain text shown; certificates and private
 * keys (PEM or DER, as blobs or strings) described by their public facts only; other bytes as a
 * short hex preview, except where they may be key material (a key-like name, a PEM key that does
 * not parse), which is never shown.
 */
import { describeCertificate, describeKey, parseCredential, type CertificateInfo, type Encoding, type KeyInfo, type PrivateKeyFormat } from '../credential.js';
import type { NvsItem } from './decoder.js';

export type NvsValueInfo =
  | { kind: 'integer'; value: string }
  | { kind: 'text'; text: string; truncated: boolean }
  | { kind: 'certificate'; encoding: Encoding; certificates: CertificateInfo[] }
  | { kind: 'private-key'; encoding: Encoding; keyFormat: PrivateKeyFormat; key: KeyInfo }
  | { kind: 'encrypted-private-key' }
  /** Bytes that may be secret (a key-like name, an unreadable PEM key): nothing shown. */
  | { kind: 'withheld'; reason: string }
  | { kind: 'bytes'; hex: string; truncated: boolean }
  /** The value could not be read (CRC, missing chunk). */
  | { kind: 'unreadable' };

const TEXT_PREVIEW = 64;
const HEX_PREVIEW = 16;
/** Names of values that are likely secrets. */
const SECRET_NAME = /key|priv|secret|pass|pswd|pmk|token|cipher/i;

export function describeNvsValue(item: NvsItem): NvsValueInfo {
  if (item.value !== undefined) return { kind: 'integer', value: item.value.toString() };
  const bytes = item.bytes;
  if (!bytes) return { kind: 'unreadable' };
  const parsed = parseCredential(bytes);
  switch (parsed.kind) {
    case 'certificate':
      return { kind: 'certificate', encoding: parsed.encoding, certificates: parsed.certificates.map(describeCertificate) };
    case 'private-key':
      return { kind: 'private-key', encoding: parsed.encoding, keyFormat: parsed.format, key: describeKey(parsed.key) };
    case 'encrypted-private-key':
      return { kind: 'encrypted-private-key' };
    default:
      break;
  }
  if (bytes.includes('PRIVATE KEY')) return { kind: 'withheld', reason: 'PEM private key that does not parse' };
  const secretName = SECRET_NAME.test(item.key) || SECRET_NAME.test(item.namespace ?? '');
  if (secretName) return { kind: 'withheld', reason: `may be secret (named ${item.namespace ?? item.namespaceIndex}/${item.key})` };
  const printable = bytes.every((byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d);
  if (item.type === 'string' || (printable && bytes.length > 0)) {
    const text = bytes.toString('utf8');
    return { kind: 'text', text: text.slice(0, TEXT_PREVIEW), truncated: text.length > TEXT_PREVIEW };
  }
  return { kind: 'bytes', hex: bytes.subarray(0, HEX_PREVIEW).toString('hex'), truncated: bytes.length > HEX_PREVIEW };
}
