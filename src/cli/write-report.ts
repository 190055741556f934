import type { WriteReport } from '../flash/write-image.js';
import type { UpdateReport } from '../flash/update.js';

/** One line saying what a verified write did, in numbers that are exactly what happened. */
export function describeWrite(report: WriteReport, what: string): string {
  const at = report.offset === 0 ? '' : ` at offset 0x${report.offset.toString(16)} (${report.offset})`;
  if (report.unchanged) return `${report.partition} already holds ${what}${at}: nothing erased or written (read ${report.bytesRead} bytes to check)`;
  const recovered = report.recoveries ? `, ${report.recoveries} stalled chunk(s) recovered and rewritten` : '';
  const verified = report.bytesVerified > 0 ? `; verified by reading back ${report.bytesVerified} bytes` : '';
  return `wrote ${what} to ${report.partition}${at}: ${report.erasedSectors} sector(s) erased, ${report.bytesWritten} bytes written${recovered}${verified}`;
}

/** The write's line, then how the whole partition was proven to hold exactly the bin and 0xFF. */
export function describePartitionUpdate(report: UpdateReport, what: string): string {
  const line =
    report.bytesWritten === 0 && !report.unchanged
      ? `${report.partition} already holds ${what}: nothing written, ${report.erasedSectors} sector(s) after it erased`
      : describeWrite(report, what);
  return `${line}; whole partition checked: ${report.exactness}`;
}
