import type { ReactNode } from 'react';
import { parseBlocks, type Span, spans } from './markdown-blocks.ts';

/**
 * Setup guides as Markdown (markdown-blocks.ts parses them): every part becomes a React element or a
 * text node, so no HTML in a guide is ever interpreted; links open with rel="noreferrer noopener";
 * nothing needs an inline style or script (the console's CSP forbids both).
 */

function render(list: Span[], key: string): ReactNode[] {
  return list.map((s, i) => {
    const k = `${key}.${i}`;
    if (s.kind === 'text') return s.text;
    if (s.kind === 'code') return <code key={k}>{s.text}</code>;
    if (s.kind !== 'link')
      return s.kind === 'strong' ? (
        <strong key={k}>{render(s.children, k)}</strong>
      ) : (
        <em key={k}>{render(s.children, k)}</em>
      );
    return (
      <a key={k} href={s.href} target="_blank" rel="noreferrer noopener">
        {render(s.children, k)}
      </a>
    );
  });
}

export function Markdown({ text, className = 'rich-text' }: { text: string; className?: string }) {
  return (
    <div className={className}>
      {parseBlocks(text).map((b, i) => {
        const key = `${b.kind}-${i}`;
        if (b.kind === 'p') return <p key={key}>{render(spans(b.text), key)}</p>;
        if (b.kind === 'code')
          return (
            <pre key={key} className="raw">
              <code>{b.text}</code>
            </pre>
          );
        if (b.kind === 'h') {
          const H = b.level <= 2 ? 'h3' : 'h4';
          return <H key={key}>{render(spans(b.text), key)}</H>;
        }
        const items = b.items.map((t, j) => <li key={`${key}-${j}`}>{render(spans(t), `${key}-${j}`)}</li>);
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
