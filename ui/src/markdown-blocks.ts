/**
 * Markdown as the sources' setup guides use it, parsed into blocks and inline spans (markdown.tsx
 * renders them): paragraphs (lines joined, so hard-wrapped lines read as one sentence), ordered and
 * unordered lists whose items continue on indented lines, fenced code blocks, headings, and inline
 * **bold**, *emphasis*, `code` and [links](https://…). Nothing here is HTML: what is not Markdown stays
 * text, and a link is one only to an http(s) URL.
 */

export type Block =
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

export type Span =
  | { kind: 'text'; text: string }
  | { kind: 'strong' | 'em'; children: Span[] }
  | { kind: 'code'; text: string }
  | { kind: 'link'; href: string; children: Span[] };

const INLINE = /\*\*(.+?)\*\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])/g;

export function spans(text: string): Span[] {
  const out: Span[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push({ kind: 'text', text: text.slice(last, m.index) });
    if (m[1] !== undefined) out.push({ kind: 'strong', children: spans(m[1]) });
    else if (m[2] !== undefined) out.push({ kind: 'code', text: m[2] });
    else if (m[3] !== undefined)
      out.push(
        /^https?:\/\//i.test(m[4]!)
          ? { kind: 'link', href: m[4]!, children: spans(m[3]) }
          : { kind: 'text', text: m[0] },
      );
    else out.push({ kind: 'em', children: spans(m[5]!) });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}
