import type { WriteReport } from '../flash/write-image.js';

/** One line saying what a verified write did. */
export function describeWrite(report: WriteReport, what: string): string {
  if (report.unchanged) return `${report.partition} already holds ${what}: nothing erased or written (checked ${report.length} bytes)`;
  const recovered = report.recoveries ? `, ${report.recoveries} stalled chunk(s) recovered and rewritten` : '';
  return (
    `wrote ${what} to ${report.partition} at offset ${report.offset}: ${report.erasedSectors} sector(s) erased, ` +
    `${report.bytesWritten} bytes written${recovered}; verified by reading back ${report.length} bytes`
  );
}
