/**
 * A small markdown renderer for blog post previews: headings, paragraphs, lists, block quotes,
 * bold, italic, inline code and links. It builds elements, never HTML strings, so generated text
 * cannot inject markup into the dashboard.
 */
import type { JSX } from 'preact';

function inline(text: string, key: string): Array<string | JSX.Element> {
  const parts: Array<string | JSX.Element> = [];
  const pattern = /(\*\*[^*]+\*\*|\*[^*]+\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  let index = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const token = match[0];
    const id = `${key}-${index++}`;
    if (token.startsWith('**')) parts.push(<strong key={id}>{token.slice(2, -2)}</strong>);
    else if (token.startsWith('`')) parts.push(<code key={id}>{token.slice(1, -1)}</code>);
    else if (token.startsWith('[')) {
      const link = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token)!;
      const href = /^https?:\/\//.test(link[2]!) ? link[2]! : undefined;
      parts.push(href ? <a key={id} href={href} rel="noopener noreferrer" target="_blank">{link[1]}</a> : link[1]!);
    } else parts.push(<em key={id}>{token.slice(1, -1)}</em>);
    last = match.index + token.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function Markdown({ source }: { source: string }) {
  const blocks = source.replace(/\r\n/g, '\n').split(/\n{2,}/).map((block) => block.trim()).filter((block) => block.length > 0);
  return (
    <div class="prose">
      {blocks.map((block, position) => {
        const key = `b${position}`;
        const heading = /^(#{1,6})\s+(.*)$/.exec(block);
        if (heading && !block.includes('\n')) {
          const level = Math.min(6, heading[1]!.length + 1);
          const Tag = `h${level}` as 'h2';
          return <Tag key={key}>{inline(heading[2]!, key)}</Tag>;
        }
        const lines = block.split('\n');
        if (lines.every((line) => /^\s*[-*]\s+/.test(line))) return <ul key={key}>{lines.map((line, index) => <li key={index}>{inline(line.replace(/^\s*[-*]\s+/, ''), `${key}-${index}`)}</li>)}</ul>;
        if (lines.every((line) => /^\s*\d+[.)]\s+/.test(line))) return <ol key={key}>{lines.map((line, index) => <li key={index}>{inline(line.replace(/^\s*\d+[.)]\s+/, ''), `${key}-${index}`)}</li>)}</ol>;
        if (lines.every((line) => line.startsWith('>'))) return <blockquote key={key}>{inline(lines.map((line) => line.replace(/^>\s?/, '')).join(' '), key)}</blockquote>;
        return <p key={key}>{inline(lines.join(' '), key)}</p>;
      })}
    </div>
  );
}
