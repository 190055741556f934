/**
 * What `inspect` finds in a PKI bin (the JSON shape of `inspect --json`) and its text rendering.
 */
import { formatKeyInfo, type CertificateInfo, type KeyInfo } from '../pki/credential.js';
import type { DecodedPkiBin } from '../pki/bin-format.js';
import type { DetectedFormat } from '../pki/detect-format.js';
import { describeItem, type PkiType } from '../pki/types.js';
import type { Finding, ValidationResult } from '../pki/validate.js';
import { certificateLines, field } from './report-fields.js';
import { formatTable } from './table.js';

export interface InspectedItem {
  type: PkiType;
  /** The ID byte as stored. */
  id: number;
  /** Position within its type: what the firmware selects by (= id in a well-formed bin). */
  index: number;
  /** Offset of the item header in the file. */
  offset: number;
  /** Content length in bytes. */
  length: number;
  encoding: 'pem' | 'der';
  content: string;
  certificates: CertificateInfo[];
  key?: KeyInfo;
  keyFormat?: string;
}

export interface InspectReport {
  file: string;
  format: DetectedFormat['format'];
  formatDescription: string;
  /** Bytes in the file. */
  fileSize: number;
  /** Bytes of the bin itself (header + items). */
  binLength: number;
  /** Bytes after the bin (the 0xFF rest of a partition read-back). */
  trailingBytes: number;
  items: InspectedItem[];
  /** Oddities of the bin structure (padding, IDs, trailing bytes). */
  decodeWarnings: string[];
  validation: { errors: Finding[]; warnings: Finding[] };
}

export function buildInspectReport(file: string, fileSize: number, format: DetectedFormat, bin: DecodedPkiBin, validation: ValidationResult): InspectReport {
  return {
    file,
    format: format.format,
    formatDescription: format.description,
    fileSize,
    binLength: bin.length,
    trailingBytes: bin.trailingBytes,
    items: bin.items.map((item, position) => {
      const report = validation.items[position]!;
      const inspected: InspectedItem = {
        type: item.type,
        id: item.id,
        index: report.item.index,
        offset: item.offset,
        length: item.content.length,
        encoding: report.encoding,
        content: report.content,
        certificates: report.certificates,
      };
      if (report.key !== undefined) inspected.key = report.key;
      if (report.keyFormat !== undefined) inspected.keyFormat = report.keyFormat;
      return inspected;
    }),
    decodeWarnings: bin.warnings,
    validation: { errors: validation.errors, warnings: validation.warnings },
  };
}

const CONTENT_NAMES: Readonly<Record<string, string>> = {
  certificate: 'certificate',
  'private-key': 'private key',
  'encrypted-private-key': 'encrypted private key',
  'public-key': 'public key',
  unusable: 'unusable',
};

/** The report as text: a summary line, a table of the items, details per item, then the findings. */
export function renderInspectReport(report: InspectReport): string {
  const out: string[] = [];
  const trailing = report.trailingBytes === 0 ? '' : `, followed by ${report.trailingBytes} bytes of fill`;
  out.push(
    `${report.file}: ${report.formatDescription}, ${report.items.length} item${report.items.length === 1 ? '' : 's'}, ${report.binLength} bytes${trailing}`,
    '',
  );
  out.push(
    formatTable(
      [{ header: 'TYPE' }, { header: 'ID', right: true }, { header: 'OFFSET', right: true }, { header: 'LENGTH', right: true }, { header: 'CONTENT' }],
      report.items.map((item) => [item.type, String(item.id), String(item.offset), String(item.length), summarize(item)]),
    ),
  );
  for (const item of report.items) {
    out.push('', `${describeItem({ type: item.type, index: item.index })} at offset ${item.offset}: ${item.encoding.toUpperCase()} ${CONTENT_NAMES[item.content] ?? item.content}${item.keyFormat ? ` (${item.keyFormat})` : ''}`);
    item.certificates.forEach((certificate, n) => {
      if (item.certificates.length > 1) out.push(`  certificate ${n + 1} of ${item.certificates.length}`);
      out.push(...certificateLines(certificate));
    });
    if (item.key !== undefined) {
      out.push(field('key', formatKeyInfo(item.key)), field('public key', `SHA-256 ${item.key.publicKeySha256}`));
    }
  }
  out.push('', ...renderFindings(report));
  return out.join('\n');
}


function summarize(item: InspectedItem): string {
  const leaf = item.certificates[0];
  if (leaf !== undefined) {
    const more = item.certificates.length > 1 ? ` (+${item.certificates.length - 1} more)` : '';
    return `${item.encoding.toUpperCase()} certificate: ${leaf.subject}${more}`;
  }
  if (item.key !== undefined) return `${item.encoding.toUpperCase()} private key: ${formatKeyInfo(item.key)}`;
  return `${item.encoding.toUpperCase()} ${CONTENT_NAMES[item.content] ?? item.content}`;
}

function renderFindings(report: InspectReport): string[] {
  const { errors, warnings } = report.validation;
  const allWarnings = [...report.decodeWarnings, ...warnings.map((finding) => finding.message)];
  if (errors.length === 0 && allWarnings.length === 0) return ['No problems found.'];
  const lines: string[] = [];
  if (errors.length > 0) lines.push(`Errors (${errors.length}):`, ...errors.map((finding) => `  ${finding.message}`));
  if (allWarnings.length > 0) lines.push(`Warnings (${allWarnings.length}):`, ...allWarnings.map((message) => `  ${message}`));
  return lines;
}
