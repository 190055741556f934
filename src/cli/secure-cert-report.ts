/**
 * What `inspect` finds in an esp_secure_cert partition image (the JSON shape of `inspect --json`)
 * and its text rendering. Carries no value bytes: certificates and keys appear as their public
 * facts only.
 */
import { formatKeyInfo } from '../pki/credential.js';
import type { DetectedFormat } from '../pki/detect-format.js';
import { keyFormatName } from '../pki/secure-cert/credential-values.js';
import type { CustFlashItemName, DecodedCustFlash } from '../pki/secure-cert/cust-flash.js';
import { DS_CHIPS } from '../pki/secure-cert/ds-values.js';
import type { TlvValueInfo } from '../pki/secure-cert/entry-values.js';
import type { SecureCertInspection } from '../pki/secure-cert/inspect.js';
import type { SignatureBlockInfo } from '../pki/secure-cert/signature-block.js';
import { hexOffset, type SecureCertProblem } from '../pki/secure-cert/problems.js';
import type { ReaderView } from '../pki/secure-cert/reader-view.js';
import type { IntegrityStatus } from '../pki/secure-cert/tlv-decode.js';
import type { TlvTermination } from '../pki/secure-cert/tlv-image.js';
import { flagNames, tlvTypeName } from '../pki/secure-cert/tlv-types.js';
import type { Finding, ValidationResult } from '../pki/validate.js';
import { certificateLines, field } from './report-fields.js';
import { formatTable } from './table.js';

export interface SecureCertReportEntry {
  offset: number;
  type: number;
  typeName: string;
  subtype: number;
  /** The flags byte, and the flags the firmware sees in it. */
  flags: number;
  flagNames: string[];
  /** The 3 reserved bytes, hex. */
  reserved: string;
  length: number;
  padding: number;
  /** Stored CRC, hex. */
  crc: string;
  crcOk: boolean;
  content: TlvValueInfo;
}

export interface SecureCertReportItem {
  name: CustFlashItemName;
  offset: number;
  /** Size of its fixed region. */
  capacity: number;
  length: number;
  absent: boolean;
  /** Stored CRC, hex. */
  crc: string;
  crcOk: boolean;
  content?: TlvValueInfo;
}

export interface SecureCertInspectReport {
  file: string;
  format: 'esp-secure-cert' | 'esp-secure-cert-cust-flash';
  formatDescription: string;
  fileSize: number;
  /** No decoding errors (CRCs, lengths, hashes, values); validation findings are apart. */
  valid: boolean;
  /** TLV layout. */
  tlv?: {
    entries: SecureCertReportEntry[];
    /** End of the last whole entry. */
    end: number;
    termination: TlvTermination;
    trailingBytes: number;
    /** Entries the firmware's iterator lists (it stops at the first bad CRC). */
    listedEntries: number;
    integrity: IntegrityStatus;
  };
  /** Legacy cust_flash layout. */
  custFlash?: {
    keyStorage: DecodedCustFlash['keyStorage'];
    metadataOrder: DecodedCustFlash['metadataOrder'];
    items: SecureCertReportItem[];
    ds?: { rsaLengthBits: number; efuseKeyId: number };
  };
  /** What the firmware's reader API returns. */
  reader: ReaderView;
  /** What the decoder found. */
  problems: SecureCertProblem[];
  /** The checks `generate` does, over the stored certificates and key. */
  validation: { errors: Finding[]; warnings: Finding[] };
}

export function buildSecureCertReport(file: string, fileSize: number, format: DetectedFormat, inspection: SecureCertInspection, validation: ValidationResult): SecureCertInspectReport {
  const { image, reader } = inspection;
  const report: SecureCertInspectReport = {
    file,
    format: image.layout === 'tlv' ? 'esp-secure-cert' : 'esp-secure-cert-cust-flash',
    formatDescription: format.description,
    fileSize,
    valid: inspection.valid,
    reader,
    problems: image.problems,
    validation: { errors: validation.errors, warnings: validation.warnings },
  };
  if (image.layout === 'tlv') {
    report.tlv = {
      entries: image.entries.map(({ entry, info }) => ({
        offset: entry.offset,
        type: entry.type,
        typeName: tlvTypeName(entry.type),
        subtype: entry.subtype,
        flags: entry.flags,
        flagNames: flagNames(entry.flags),
        reserved: entry.reserved.toString('hex'),
        length: entry.length,
        padding: entry.padding,
        crc: hex8(entry.crc),
        crcOk: entry.crcOk,
        content: info,
      })),
      end: image.end,
      termination: image.termination,
      trailingBytes: image.trailingBytes,
      listedEntries: image.listedEntries,
      integrity: image.integrity,
    };
  } else {
    report.custFlash = {
      keyStorage: image.keyStorage,
      metadataOrder: image.metadataOrder,
      items: image.items.map((item) => {
        const reported: SecureCertReportItem = {
          name: item.name,
          offset: item.offset,
          capacity: item.capacity,
          length: item.length,
          absent: item.absent,
          crc: hex8(item.crc),
          crcOk: item.crcOk,
        };
        if (item.info !== undefined) reported.content = item.info;
        return reported;
      }),
      ...(image.ds ? { ds: image.ds } : {}),
    };
  }
  return report;
}

/** The report as text: a summary line, a table, details per entry, the firmware's view, then the findings. */
export function renderSecureCertReport(report: SecureCertInspectReport): string {
  const out: string[] = [];
  if (report.tlv) {
    const { entries } = report.tlv;
    out.push(`${report.file}: ${report.formatDescription}, ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${report.tlv.end} bytes${ending(report.tlv)}`);
    if (entries.length > 0) {
      out.push(
        '',
        formatTable(
          [{ header: 'OFFSET' }, { header: 'TYPE' }, { header: 'SUB', right: true }, { header: 'FLAGS' }, { header: 'LENGTH', right: true }, { header: 'PAD', right: true }, { header: 'CRC' }, { header: 'CONTENT' }],
          entries.map((entry) => [hexOffset(entry.offset), entry.typeName, String(entry.subtype), `0x${entry.flags.toString(16).padStart(2, '0')}`, String(entry.length), String(entry.padding), entry.crcOk ? 'ok' : 'BAD', summarize(entry.content)]),
        ),
      );
    }
    for (const entry of report.tlv.entries) {
      const flags = entry.flagNames.length > 0 ? ` [${entry.flagNames.join(', ')}]` : '';
      out.push('', `${entry.typeName}/${entry.subtype} at ${hexOffset(entry.offset)}: ${summarize(entry.content)}${flags}${entry.crcOk ? '' : ' (CRC mismatch)'}`, ...details(entry.content));
    }
  } else if (report.custFlash) {
    const { items, keyStorage, metadataOrder } = report.custFlash;
    const order = metadataOrder === 'pre_prov' ? ', pre_prov metadata order' : '';
    out.push(`${report.file}: ${report.formatDescription}, ${keyStorage === 'ds' ? 'DS peripheral key' : 'plaintext key'}${order}, ${report.fileSize} bytes`, '');
    out.push(
      formatTable(
        [{ header: 'ITEM' }, { header: 'OFFSET' }, { header: 'LENGTH', right: true }, { header: 'REGION', right: true }, { header: 'CRC' }, { header: 'CONTENT' }],
        items.map((item) => [item.name, hexOffset(item.offset), String(item.length), String(item.capacity), item.absent ? '-' : item.crcOk ? 'ok' : 'BAD', item.absent ? 'not stored' : item.content ? summarize(item.content) : '']),
      ),
    );
    for (const item of items) {
      if (item.content === undefined) continue;
      out.push('', `${item.name} at ${hexOffset(item.offset)}: ${summarize(item.content)}${item.crcOk ? '' : ' (CRC mismatch)'}`, ...details(item.content));
    }
    if (report.custFlash.ds) out.push('', `DS metadata: eFuse key id ${report.custFlash.ds.efuseKeyId}, RSA ${report.custFlash.ds.rsaLengthBits}`);
  }
  out.push('', ...renderReader(report.reader, report.tlv?.integrity), '', ...renderFindings(report));
  return out.join('\n');
}

function ending(tlv: NonNullable<SecureCertInspectReport['tlv']>): string {
  switch (tlv.termination) {
    case 'eof':
      return '';
    case 'erased':
      return `, followed by ${tlv.trailingBytes} bytes of erased flash (0xFF)`;
    case 'end-marker':
      return `, followed by the end marker ff ff 00 00${tlv.trailingBytes > 4 ? ` and ${tlv.trailingBytes - 4} bytes of 0xFF` : ''}`;
    case 'other-data':
      return `, followed by ${tlv.trailingBytes} bytes the reader does not read`;
    case 'truncated':
      return `, then an entry cut off by the end of the file`;
  }
}

/** One line for the table. */
function summarize(content: TlvValueInfo): string {
  switch (content.kind) {
    case 'certificate': {
      const [leaf, ...rest] = content.certificate.certificates;
      return `${content.certificate.encoding.toUpperCase()} certificate: ${leaf!.subject}${rest.length > 0 ? ` (+${rest.length} more)` : ''}`;
    }
    case 'private-key':
      if (content.key) return `${keyTypeText(content.keyType)} ${keyFormatName(content.key.keyFormat)} ${content.key.encoding.toUpperCase()} private key: ${formatKeyInfo(content.key.key)}`;
      if (content.ciphertextLength !== undefined) return `${keyTypeText(content.keyType)} private key: ${content.ciphertextLength} bytes of AES-GCM ciphertext + tag`;
      return `${keyTypeText(content.keyType)} private key (no key bytes stored)`;
    case 'ds-data':
      return `DS key: RSA ${content.dsData.rsaBits}, ${content.dsData.ciphertextLength}-byte ciphertext`;
    case 'ds-context':
      return `DS context: eFuse key id ${content.dsContext.efuseKeyId}, RSA ${content.dsContext.rsaLengthBits}`;
    case 'sec-cfg':
      return `ECDSA key in eFuse block ${content.efuseBlock} (key id ${content.efuseKeyId})`;
    case 'salt':
      return 'salt for the HMAC-derived key';
    case 'signature-block':
      return `${content.signature.algorithm} signature over ${content.signature.signedLength} bytes: ${SIGNATURE_CHECK[content.signature.check]}`;
    case 'integrity':
      return `SHA-256 of the ${content.coveredBytes} bytes before it: ${content.ok ? 'ok' : 'MISMATCH'}`;
    case 'user-data':
      return content.text !== undefined ? `text ${JSON.stringify(content.text)}${content.previewTruncated ? '…' : ''}` : `bytes ${content.hex}${content.previewTruncated ? '…' : ''}`;
    case 'opaque':
      return 'data';
    case 'unreadable':
      return 'unreadable (see the errors)';
  }
}

const SIGNATURE_CHECK: Readonly<Record<SignatureBlockInfo['check'], string>> = {
  verified: 'verified',
  unchecked: 'not verified on the host',
  failed: 'INVALID',
};

const KEY_TYPE_TEXT: Readonly<Record<string, string>> = {
  DEFAULT: 'plaintext',
  HMAC_ENCRYPTED: 'HMAC-encrypted',
  HMAC_DERIVED_ECDSA: 'HMAC-derived ECDSA',
  ECDSA_PERIPHERAL: 'ECDSA-peripheral',
};

function keyTypeText(type: string): string {
  return KEY_TYPE_TEXT[type] ?? type;
}

/** Indented detail lines under an entry. */
function details(content: TlvValueInfo): string[] {
  switch (content.kind) {
    case 'certificate':
      return content.certificate.certificates.flatMap((certificate, n, all) => [...(all.length > 1 ? [`  certificate ${n + 1} of ${all.length}`] : []), ...certificateLines(certificate)]);
    case 'private-key':
      return content.key ? [field('key', formatKeyInfo(content.key.key)), field('public key', `SHA-256 ${content.key.key.publicKeySha256}`)] : [];
    case 'ds-data': {
      const chips = content.dsData.dsMaxBits === undefined ? 'an unknown chip' : `chips with DS keys up to ${content.dsData.dsMaxBits} bits (${DS_CHIPS[content.dsData.dsMaxBits]})`;
      return [field('key', `RSA ${content.dsData.rsaBits} (rsa_length ${content.dsData.rsaLength})`), field('ciphertext', `${content.dsData.ciphertextLength} bytes, for ${chips}`), field('IV', content.dsData.iv)];
    }
    case 'signature-block': {
      const { signature } = content;
      const lines = [field('signs', `${signature.signedLength} bytes from offset ${signature.offset}, version ${signature.version}`)];
      if (signature.publicKeyDigest !== undefined) lines.push(field('key digest', `SHA-256 ${signature.publicKeyDigest} (the chip must hold it in a secure boot eFuse)`));
      return lines;
    }
    default:
      return [];
  }
}



/** What esp_secure_cert_mgr's reader API returns for this image. */
function renderReader(reader: ReaderView, integrity: IntegrityStatus | undefined): string[] {
  const item = (found: { where: string; crcOk: boolean } | undefined): string => (found === undefined ? 'none' : `${found.where}${found.crcOk ? '' : ': refused, bad CRC'}`);
  const key = reader.privateKey === undefined ? 'none (INVALID)' : `${reader.privateKey.type} (${keyTypeText(reader.privateKey.type)}), ${item(reader.privateKey)}`;
  const lines = [
    'Firmware view (esp_secure_cert_mgr reader API):',
    field('device cert', item(reader.deviceCert)),
    field('CA cert', item(reader.caCert)),
    field('private key', key),
  ];
  if (reader.privKeyEfuseKeyId !== undefined) lines.push(field('key eFuse', `key id ${reader.privKeyEfuseKeyId} (BLOCK_KEY${reader.privKeyEfuseKeyId})`));
  if (reader.dsContext !== undefined) {
    const ds = reader.dsContext;
    lines.push(field('DS context', `eFuse key id ${ds.efuseKeyId}, RSA ${ds.rsaLengthBits}, ${ds.ciphertextLength}-byte ciphertext, IV ${ds.iv} (${ds.where})`));
  }
  const where = integrity?.offset === undefined ? '' : ` (INTEGRITY/${integrity.subtype} at ${hexOffset(integrity.offset)})`;
  lines.push(field('integrity', reader.integrity === 'absent' ? 'no INTEGRITY entry' : `${reader.integrity}${where}`));
  return lines;
}

/** Every error and warning of the report, decoder first, as messages. */
export function findingsOf(report: SecureCertInspectReport): { errors: string[]; warnings: string[] } {
  const of = (severity: SecureCertProblem['severity']): string[] => report.problems.filter((problem) => problem.severity === severity).map((problem) => problem.message);
  return {
    errors: [...of('error'), ...report.validation.errors.map((finding) => finding.message)],
    warnings: [...of('warning'), ...report.validation.warnings.map((finding) => finding.message)],
  };
}

function renderFindings(report: SecureCertInspectReport): string[] {
  const { errors, warnings } = findingsOf(report);
  if (errors.length === 0 && warnings.length === 0) return ['No problems found.'];
  const lines: string[] = [];
  if (errors.length > 0) lines.push(`Errors (${errors.length}):`, ...errors.map((message) => `  ${message}`));
  if (warnings.length > 0) lines.push(`Warnings (${warnings.length}):`, ...warnings.map((message) => `  ${message}`));
  return lines;
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
