/**
 * Reads a stream of JSON objects that is either newline-delimited (JSONL) or concatenated JSON
 * (`{…}{…}`, as some vendors' "JSONL" files are), in bounded memory. Each line is tried with
 * JSON.parse first (the fast path); a line that fails is re-scanned for concatenated objects, and
 * whatever still does not parse is reported as bad text rather than dropped silently.
 */
/** `text` is the item's exact JSON text; `size` its length in characters, for batching by volume. */
export type JsonItem = ({ value: unknown; text: string } | { error: string; text: string }) & {
  size: number;
};

export async function* jsonObjects(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<JsonItem> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl = pending.indexOf('\n');
    if (nl === -1 && pending.length > 1 << 20) {
      // A long run without newlines: concatenated JSON. Emit the complete objects, keep the rest.
      const { items, rest } = scanObjects(pending);
      yield* items;
      pending = rest;
      continue;
    }
    let start = 0;
    while (nl !== -1) {
      yield* parseLine(pending.slice(start, nl));
      start = nl + 1;
      nl = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  yield* parseLine(pending);
}

function* parseLine(line: string): Generator<JsonItem> {
  const text = line.trim();
  if (!text) return;
  try {
    yield { value: JSON.parse(text), text, size: text.length };
  } catch {
    const { items, rest } = scanObjects(text);
    yield* items;
    if (rest.trim()) yield { error: 'not valid JSON', text: rest.trim().slice(0, 10_000), size: rest.length };
  }
}

/** Splits `{…}{…}` at top-level object boundaries, honouring strings and escapes. */
function scanObjects(text: string): { items: JsonItem[]; rest: string } {
  const items: JsonItem[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let begin = -1;
  let consumed = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92 /* \\ */) escaped = true;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (depth === 0) begin = i;
      depth++;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth === 0 && begin !== -1) {
        const piece = text.slice(begin, i + 1);
        try {
          items.push({ value: JSON.parse(piece), text: piece, size: piece.length });
        } catch (err) {
          items.push({ error: (err as Error).message, text: piece.slice(0, 10_000), size: piece.length });
        }
        consumed = i + 1;
        begin = -1;
      } else if (depth < 0) {
        items.push({
          error: 'unbalanced brackets',
          text: text.slice(consumed, i + 1).slice(0, 10_000),
          size: i + 1 - consumed,
        });
        depth = 0;
        consumed = i + 1;
      }
    }
  }
  return { items, rest: text.slice(consumed) };
}
