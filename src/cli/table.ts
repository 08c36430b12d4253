/**
 * A plain-text table for the CLI: a header row, columns padded to their widest cell and two spaces
 * apart. The last column is never padded; given `width` (a terminal's), it wraps at ", " and its
 * continuation lines start under it. Piped output has no `width`: one line per row, for grep and cut.
 */
export function table(header: string[], rows: string[][], width?: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const indent = widths.slice(0, -1).reduce((n, w) => n + w + 2, 0);
  const line = (cells: string[]) => {
    const head = cells
      .slice(0, -1)
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ');
    const last = wrap(cells.at(-1) ?? '', width && width - indent > 20 ? width - indent : undefined);
    return `${head}${head ? '  ' : ''}${last.join(`\n${' '.repeat(indent)}`)}`.trimEnd();
  };
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Splits a ", "-separated list into lines of at most `max` characters (a longer item stands alone). */
function wrap(text: string, max: number | undefined): string[] {
  if (!max || text.length <= max) return [text];
  const lines: string[] = [];
  let current = '';
  for (const item of text.split(', ')) {
    const next = current ? `${current}, ${item}` : item;
    if (current && next.length + 1 > max) {
      lines.push(`${current},`);
      current = item;
    } else current = next;
  }
  if (current) lines.push(current);
  return lines;
}
