// Formats a benchmark table as Markdown, with columns padded so the text also reads in a terminal.
import type { BenchmarkTable } from './benchmark.js';

/** Returns the title, the description and the table. Columns after the first are right-aligned. */
export function formatMarkdownTable(table: BenchmarkTable): string {
  const widths = table.columns.map((column, index) =>
    Math.max(3, column.length, ...table.rows.map((row) => (row[index] ?? '').length)),
  );

  const line = (cells: string[]) =>
    '| ' +
    cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]) : cell.padStart(widths[index]))).join(' | ') +
    ' |';
  const separator =
    '| ' +
    widths.map((width, index) => (index === 0 ? '-'.repeat(width) : '-'.repeat(width - 1) + ':')).join(' | ') +
    ' |';

  return [
    `### ${table.title}`,
    '',
    table.description,
    '',
    line(table.columns),
    separator,
    ...table.rows.map((row) => line(table.columns.map((_, index) => row[index] ?? ''))),
  ].join('\n');
}
