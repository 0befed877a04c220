// How the CLI shows things: sizes, durations, tables and error lines.

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
const SIZE_BASE = 1000;
const SIZE_DIGITS = 4;

/** `1.235MB`: decimal units and four significant digits, as `docker images` shows sizes. */
export function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= SIZE_BASE && unit < SIZE_UNITS.length - 1) {
    value /= SIZE_BASE;
    unit++;
  }
  return `${Number(value.toPrecision(SIZE_DIGITS))}${SIZE_UNITS[unit]}`;
}

/** `4.2s`, `3m07s`. */
export function humanDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/** `12,345`. */
export function humanCount(n: number): string {
  return n.toLocaleString('en-US');
}

const COLUMN_GAP = '   ';

/** Rows as left-aligned columns, the first row being the header; no trailing spaces. */
export function formatTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join(COLUMN_GAP)
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * An error as one line: its message, newlines folded, and its `code` when the
 * message does not already start with it (as fs errors' messages do).
 */
export function errorLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = err.message.replace(/\s*\n\s*/g, ' ').trim() || err.name;
  const { code } = err as { code?: unknown };
  return typeof code === 'string' && !message.startsWith(`${code}:`) ? `${message} (${code})` : message;
}
