/**
 * Shared pieces of the benchmarks (scripts/bench*.ts): emulated modules with timing on, the ratios
 * they report, and plain-text tables.
 */
import { randomUUID } from 'node:crypto';
import {
  createEmulator,
  createMockTransport,
  DEFAULT_PAGE_PROGRAM_MS,
  DEFAULT_SECTOR_ERASE_MS,
  removeEmulator,
  type EspAtEmulator,
  type EspAtEmulatorOptions,
} from '../mock-device/index.js';
import { registerTransportScheme, transportSchemes } from '../src/transport/open.js';

/** Emulator flash timing used by every benchmark (the emulator's defaults, stated here for the report). */
export const SECTOR_ERASE_MS = DEFAULT_SECTOR_ERASE_MS;
export const PAGE_PROGRAM_MS = DEFAULT_PAGE_PROGRAM_MS;
export const SECTOR = 4096;
export const PAGE = 256;

/** Bytes per second on an 8N1 line. */
export function lineBytesPerSecond(baud: number): number {
  return baud / 10;
}

/** Wire time of `bytes` at `baud`, in ms. */
export function wireMs(bytes: number, baud: number): number {
  return (bytes * 1000) / lineBytesPerSecond(baud);
}

/** Module time to program `bytes` written in page-aligned chunks, in ms. */
export function programMs(bytes: number): number {
  return Math.ceil(bytes / PAGE) * PAGE_PROGRAM_MS;
}

/** payload / (elapsed × line rate). */
export function lineEfficiency(payloadBytes: number, elapsedMs: number, baud: number): number {
  return payloadBytes / ((elapsedMs / 1000) * lineBytesPerSecond(baud));
}

export function registerMock(): void {
  if (!transportSchemes().includes('mock')) registerTransportScheme('mock', createMockTransport);
}

export interface EmulatedModule {
  url: string;
  emulator: EspAtEmulator;
  dispose(): void;
}

/** A named emulator with line-rate and flash timing on, reachable as `mock://<chip>?id=...`. */
export function emulatedModule(options: EspAtEmulatorOptions = {}): EmulatedModule {
  registerMock();
  const id = `bench-${randomUUID()}`;
  const emulator = createEmulator(id, { chip: 'esp32', lineTiming: true, flashTiming: true, bootDelayMs: 1, ...options });
  return { url: `mock://${emulator.chip}?id=${id}`, emulator, dispose: () => void removeEmulator(id) };
}

/** Deterministic pseudo-random bytes (xorshift), never 0xFF-only, so every page must be programmed. */
export function pseudoRandomBytes(length: number, seed = 0x2545f491): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** CPU time (user + system) of this process while `work` runs, in ms, and its wall time. */
export async function measure<T>(work: () => Promise<T>): Promise<{ result: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { result, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

export type Cell = string | number;

export interface Table {
  title: string;
  header: string[];
  rows: Cell[][];
  notes?: string[];
}

/** A Markdown table (it reads as plain text too), so it can be pasted into the README as is. */
export function formatTable(table: Table): string {
  const cells = table.rows.map((row) => row.map(String));
  const widths = table.header.map((h, i) => Math.max(h.length, 3, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const out = [`**${table.title}**`, '', line(table.header), rule, ...cells.map(line)];
  if (table.notes?.length) out.push('', ...table.notes.map((n) => `${n}`));
  return out.join('\n');
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

export function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function kib(bytes: number): string {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}
