/**
 * XML answers read as they arrive (docs/architecture.md, "XML answers"): the elements a source selects
 * (Qualys's `HOST`, `WARNING`) are built into plain objects one at a time and handed over as soon as each
 * closes, so neither the text nor a document tree of a large answer is held. The parser is saxes (pure JS,
 * streaming, well-formedness errors reported; a DOCTYPE is read, never fetched, and entities other than XML's
 * own are not expanded).
 *
 * Conversion: an element with no child elements is its text (CDATA included, surrounding whitespace kept
 * only when it is not all whitespace); one with children is an object of them; a child name that repeats, or
 * one listed in `arrays`, is an array; attributes are kept as `@name` (with the text as `#text`).
 */

export type XmlValue = string | { [name: string]: XmlValue | XmlValue[] };

export interface XmlElementsOptions {
  /** Names of the elements to hand over (wherever they are; one inside another is handed over inside it). */
  select: string[];
  /** Child names that are always arrays (`DETECTION` of a `DETECTION_LIST` holding one). */
  arrays?: string[];
}

interface Frame {
  name: string;
  children: Record<string, XmlValue | XmlValue[]>;
  hasChildren: boolean;
  hasElements: boolean;
  text: string;
}

export async function* xmlElements(
  chunks: AsyncIterable<Uint8Array | string>,
  o: XmlElementsOptions,
): AsyncGenerator<{ name: string; value: XmlValue }> {
  const select = new Set(o.select);
  const arrays = new Set(o.arrays);
  // Loaded at the first XML answer (README, Performance).
  const { SaxesParser } = await import('saxes');
  const parser = new SaxesParser();
  const out: Array<{ name: string; value: XmlValue }> = [];
  const stack: Frame[] = []; // open elements inside a selected one (the selected one first)
  let failure: Error | undefined;
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('opentag', (tag) => {
    if (stack.length === 0 && !select.has(tag.name)) return;
    const frame: Frame = { name: tag.name, children: {}, hasChildren: false, hasElements: false, text: '' };
    for (const [k, v] of Object.entries(tag.attributes)) frame.children[`@${k}`] = String(v);
    if (Object.keys(frame.children).length) frame.hasChildren = true;
    stack.push(frame);
  });
  const addText = (t: string) => {
    const top = stack.at(-1);
    if (top) top.text += t;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', (tag) => {
    const frame = stack.at(-1);
    if (!frame || frame.name !== tag.name) return;
    stack.pop();
    const text = frame.text.trim() === '' ? '' : frame.text;
    if (frame.hasChildren && !frame.hasElements && text) frame.children['#text'] = text; // attributes and text
    const value: XmlValue = frame.hasChildren ? frame.children : text;
    const parent = stack.at(-1);
    if (!parent) {
      out.push({ name: frame.name, value });
      return;
    }
    parent.hasChildren = true;
    parent.hasElements = true;
    const existing = parent.children[frame.name];
    if (existing === undefined) parent.children[frame.name] = arrays.has(frame.name) ? [value] : value;
    else if (Array.isArray(existing))
      existing.push(value); // values are never arrays: this is a list
    else parent.children[frame.name] = [existing, value];
  });
  const decoder = new TextDecoder();
  for await (const chunk of chunks) {
    parser.write(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    if (failure) throw failure;
    yield* out.splice(0);
  }
  parser.write(decoder.decode());
  parser.close();
  if (failure) throw failure;
  yield* out.splice(0);
}
