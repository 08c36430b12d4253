import type { ReactNode } from 'react';

/**
 * A small Markdown renderer for the sources' setup guides (SourceDef.setupGuide): paragraphs (lines
 * joined, so a guide's hard-wrapped lines read as one sentence), ordered and unordered lists whose
 * items continue on indented lines, fenced code blocks, headings, and inline **bold**, *emphasis*,
 * `code` and [links](https://…). Everything becomes React elements and text nodes: no HTML in the
 * text is ever interpreted, links go only to http(s) URLs and open with rel="noreferrer noopener",
 * and nothing needs an inline style or script (the console's CSP forbids both).
 */

type Block =
  | { kind: 'p'; text: string }
  | { kind: 'h'; level: number; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'list'; ordered: boolean; start: number; items: string[] };

const ITEM = /^(\s*)(?:(\d+)[.)]|[-*+])\s+(.*)$/;

export function parseBlocks(text: string): Block[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let para: string[] = [];
  let list: Extract<Block, { kind: 'list' }> | undefined;
  const flush = () => {
    if (para.length) blocks.push({ kind: 'p', text: para.join(' ') });
    para = [];
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*```/.test(line)) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i]!)) code.push(lines[i]!);
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      blocks.push({ kind: 'h', level: heading[1]!.length, text: heading[2]! });
      continue;
    }
    const item = ITEM.exec(line);
    if (item) {
      const ordered = item[2] !== undefined;
      if (!list || list.ordered !== ordered) {
        if (para.length) blocks.push({ kind: 'p', text: para.join(' ') });
        para = [];
        list = { kind: 'list', ordered, start: ordered ? Number(item[2]) : 1, items: [] };
        blocks.push(list);
      }
      list.items.push(item[3]!);
      continue;
    }
    // An indented line after a list item continues it; otherwise it is prose.
    if (list && /^\s+\S/.test(line)) {
      list.items[list.items.length - 1] += ` ${line.trim()}`;
      continue;
    }
    if (list) list = undefined;
    para.push(line.trim());
  }
  flush();
  return blocks;
}

const INLINE = /\*\*(.+?)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])/g;

export function inline(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const key = m.index;
    if (m[1] !== undefined) out.push(<strong key={key}>{inline(m[1])}</strong>);
    else if (m[2] !== undefined) out.push(<code key={key}>{m[2]}</code>);
    else if (m[3] !== undefined) {
      const href = /^https?:\/\//i.test(m[4]!) ? m[4]! : undefined;
      out.push(
        href ? (
          <a key={key} href={href} target="_blank" rel="noreferrer noopener">
            {inline(m[3])}
          </a>
        ) : (
          m[0]
        ),
      );
    } else out.push(<em key={key}>{inline(m[5]!)}</em>);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function Markdown({ text, className = 'rich-text' }: { text: string; className?: string }) {
  return (
    <div className={className}>
      {parseBlocks(text).map((b, i) => {
        const key = `${b.kind}-${i}`;
        if (b.kind === 'p') return <p key={key}>{inline(b.text)}</p>;
        if (b.kind === 'code')
          return (
            <pre key={key} className="raw">
              <code>{b.text}</code>
            </pre>
          );
        if (b.kind === 'h') {
          const H = b.level <= 2 ? 'h3' : 'h4';
          return <H key={key}>{inline(b.text)}</H>;
        }
        const items = b.items.map((t, j) => <li key={`${key}-${j}`}>{inline(t)}</li>);
        return b.ordered ? (
          <ol key={key} start={b.start === 1 ? undefined : b.start}>
            {items}
          </ol>
        ) : (
          <ul key={key}>{items}</ul>
        );
      })}
    </div>
  );
}
