import type { WriteReport } from '../flash/write-image.js';

/** One line saying what a verified write did, in numbers that are exactly what happened. */
export function describeWrite(report: WriteReport, what: string): string {
  const at = report.offset === 0 ? '' : ` at offset 0x${report.offset.toString(16)} (${report.offset})`;
  if (report.unchanged) return `${report.partition} already holds ${what}${at}: nothing erased or written (read ${report.bytesRead} bytes to check)`;
  const recovered = report.recoveries ? `, ${report.recoveries} stalled chunk(s) recovered and rewritten` : '';
  const verified = report.bytesVerified > 0 ? `; verified by reading back ${report.bytesVerified} bytes` : '';
  return `wrote ${what} to ${report.partition}${at}: ${report.erasedSectors} sector(s) erased, ${report.bytesWritten} bytes written${recovered}${verified}`;
}
