/** Plain-text tables for terminal output. */

export interface Column {
  header: string;
  /** Right-align (numbers). @default false */
  right?: boolean;
}

/** Columns separated by two spaces, padded to the widest cell; the last column is not padded. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        if (i === columns.length - 1 && !column.right) return cell;
        return column.right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join('\n');
}
