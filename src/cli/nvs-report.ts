/**
 * What `inspect` finds in an NVS partition image (the JSON shape of `inspect --json`) and its text
 * rendering: pages, namespaces, keys with their values (integers and text shown; certificates and
 * keys by their public facts only), erased entries, problems, and what the firmware reading it
 * sees (ESP-AT's mfg_nvs key names, esp_secure_cert's legacy nvs keys).
 */
import { formatKeyInfo } from '../pki/credential.js';
import type { DetectedFormat } from '../pki/detect-format.js';
import { keyFormatName } from '../pki/secure-cert/credential-values.js';
import type { DecodedNvs, NvsErasedEntry, NvsPageInfo, NvsProblem } from '../pki/nvs/decoder.js';
import type { NvsValueInfo } from '../pki/nvs/value-info.js';
import type { Finding } from '../pki/validate.js';
import { certificateLines, field } from './report-fields.js';
import { formatTable } from './table.js';

export interface NvsReportItem {
  namespace: string | null;
  namespaceIndex: number;
  key: string;
  type: string;
  size: number;
  page: number;
  entry: number;
  blobLayout?: 'single' | 'chunked';
  chunks?: number;
  readable: boolean;
  content: NvsValueInfo;
}

export interface NvsInspectReport {
  file: string;
  format: 'nvs' | 'esp-secure-cert-nvs';
  formatDescription: string;
  fileSize: number;
  /** No decoding errors (validation findings are apart). */
  valid: boolean;
  version: 1 | 2 | null;
  pages: NvsPageInfo[];
  namespaces: { index: number; name: string }[];
  items: NvsReportItem[];
  erased: NvsErasedEntry[];
  problems: NvsProblem[];
  /** Notes about how the firmware reads the keys (ESP-AT key names, esp_secure_cert keys). */
  firmware: string[];
  validation: { errors: Finding[]; warnings: Finding[] };
}

export function buildNvsReport(
  file: string,
  format: DetectedFormat,
  decoded: DecodedNvs,
  contents: readonly NvsValueInfo[],
  firmware: readonly string[],
  validation: { errors: Finding[]; warnings: Finding[] },
): NvsInspectReport {
  return {
    file,
    format: format.format === 'esp-secure-cert-nvs' ? 'esp-secure-cert-nvs' : 'nvs',
    formatDescription: format.description,
    fileSize: decoded.size,
    valid: decoded.valid,
    version: decoded.version ?? null,
    pages: decoded.pages,
    namespaces: decoded.namespaces.map(({ index, name }) => ({ index, name })),
    items: decoded.items.map((item, i) => {
      const reported: NvsReportItem = {
        namespace: item.namespace ?? null,
        namespaceIndex: item.namespaceIndex,
        key: item.key,
        type: item.type,
        size: item.size,
        page: item.page,
        entry: item.entry,
        readable: item.readable,
        content: contents[i]!,
      };
      if (item.blobLayout) reported.blobLayout = item.blobLayout;
      if (item.chunks !== undefined) reported.chunks = item.chunks;
      return reported;
    }),
    erased: decoded.erased,
    problems: decoded.problems,
    firmware: [...firmware],
    validation,
  };
}

export function renderNvsReport(report: NvsInspectReport): string {
  const used = report.pages.filter((page) => page.state !== 'blank').length;
  const version = report.version === null ? '' : `, version ${report.version}${report.version === 2 ? ' (multipage blobs)' : ''}`;
  const out = [
    `${report.file}: ${report.formatDescription}${version}, ${report.fileSize} bytes, ${used} of ${report.pages.length} pages in use, ${report.namespaces.length} namespace(s), ${report.items.length} key(s)${report.erased.length > 0 ? `, ${report.erased.length} erased entr${report.erased.length === 1 ? 'y' : 'ies'}` : ''}`,
    '',
    formatTable(
      [{ header: 'PAGE', right: true }, { header: 'OFFSET' }, { header: 'STATE' }, { header: 'SEQ', right: true }, { header: 'HEADER' }, { header: 'WRITTEN', right: true }, { header: 'ERASED', right: true }, { header: 'FREE', right: true }],
      collapseBlank(report.pages).map(({ page, last }) => [
        last === undefined ? String(page.index) : `${page.index}-${last}`,
        `0x${page.offset.toString(16)}`,
        page.state,
        page.sequence === undefined ? '-' : String(page.sequence),
        page.headerCrcOk === undefined ? '-' : page.headerCrcOk ? 'ok' : 'BAD CRC',
        String(page.entries.written),
        String(page.entries.erased + page.entries.illegal),
        String(page.entries.empty),
      ]),
    ),
  ];
  if (report.items.length > 0) {
    out.push(
      '',
      formatTable(
        [{ header: 'NAMESPACE' }, { header: 'KEY' }, { header: 'TYPE' }, { header: 'SIZE', right: true }, { header: 'AT' }, { header: 'VALUE' }],
        report.items.map((item) => [item.namespace ?? `#${item.namespaceIndex}`, item.key, typeText(item), String(item.size), `${item.page}/${item.entry}`, summarize(item.content)]),
      ),
    );
  }
  for (const item of report.items) {
    const lines = details(item.content);
    if (lines.length > 0) out.push('', `${item.namespace ?? `#${item.namespaceIndex}`}/${item.key}: ${summarize(item.content)}`, ...lines);
  }
  if (report.erased.length > 0) {
    out.push('', 'Erased entries (old values the NVS library no longer reads):');
    for (const entry of report.erased) out.push(`  page ${entry.page} entry ${entry.entry}: ${entry.key === undefined ? 'unreadable header' : `${entry.type} ${JSON.stringify(entry.key)} (${entry.span} entr${entry.span === 1 ? 'y' : 'ies'})`}`);
  }
  if (report.firmware.length > 0) out.push('', 'Firmware view:', ...report.firmware.map((line) => `  ${line}`));
  const errors = [...report.problems.filter((p) => p.severity === 'error').map((p) => p.message), ...report.validation.errors.map((f) => f.message)];
  const warnings = [...report.problems.filter((p) => p.severity === 'warning').map((p) => p.message), ...report.validation.warnings.map((f) => f.message)];
  out.push('');
  if (errors.length === 0 && warnings.length === 0) out.push('No problems found.');
  if (errors.length > 0) out.push(`Errors (${errors.length}):`, ...errors.map((m) => `  ${m}`));
  if (warnings.length > 0) out.push(`Warnings (${warnings.length}):`, ...warnings.map((m) => `  ${m}`));
  return out.join('\n');
}

/** Decoding errors, then validation errors, as messages. */
export function nvsReportErrors(report: NvsInspectReport): string[] {
  return [...report.problems.filter((p) => p.severity === 'error').map((p) => p.message), ...report.validation.errors.map((f) => f.message)];
}

/** Runs of blank pages as one row. */
function collapseBlank(pages: readonly NvsPageInfo[]): { page: NvsPageInfo; last?: number }[] {
  const rows: { page: NvsPageInfo; last?: number }[] = [];
  for (const page of pages) {
    const previous = rows[rows.length - 1];
    if (page.state === 'blank' && previous?.page.state === 'blank' && (previous.last ?? previous.page.index) === page.index - 1) previous.last = page.index;
    else rows.push({ page });
  }
  return rows;
}

function typeText(item: NvsReportItem): string {
  if (item.type !== 'blob') return item.type;
  return item.blobLayout === 'chunked' ? `blob (${item.chunks} chunk${item.chunks === 1 ? '' : 's'})` : 'blob (v1)';
}

function summarize(content: NvsValueInfo): string {
  switch (content.kind) {
    case 'integer':
      return content.value;
    case 'text':
      return `${JSON.stringify(content.text)}${content.truncated ? '…' : ''}`;
    case 'certificate': {
      const [leaf, ...rest] = content.certificates;
      return `${content.encoding.toUpperCase()} certificate: ${leaf!.subject}${rest.length > 0 ? ` (+${rest.length} more)` : ''}`;
    }
    case 'private-key':
      return `${keyFormatName(content.keyFormat)} ${content.encoding.toUpperCase()} private key: ${formatKeyInfo(content.key)}`;
    case 'encrypted-private-key':
      return 'password-encrypted private key';
    case 'withheld':
      return `not shown: ${content.reason}`;
    case 'bytes':
      return `bytes ${content.hex}${content.truncated ? '…' : ''}`;
    case 'unreadable':
      return 'UNREADABLE (see the errors)';
  }
}

function details(content: NvsValueInfo): string[] {
  if (content.kind === 'certificate') return content.certificates.flatMap((certificate, n, all) => [...(all.length > 1 ? [`  certificate ${n + 1} of ${all.length}`] : []), ...certificateLines(certificate)]);
  if (content.kind === 'private-key') return [field('key', formatKeyInfo(content.key)), field('public key', `SHA-256 ${content.key.publicKeySha256}`)];
  return [];
}
