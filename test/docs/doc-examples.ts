// The examples of a Markdown file: each ```sh or ```js block, with the ```text block right after it
// (blank lines between allowed) as the output it shows. Not a test file: executed-docs.test.ts runs them.

export interface DocExample {
  file: string;
  // 1-based line of the code block's opening fence, for messages.
  line: number;
  // The nearest heading above it.
  section: string;
  language: 'sh' | 'js';
  code: string;
  // The shown output ('' when none is shown: the example must print nothing).
  output: string;
}

interface Block {
  line: number;
  info: string;
  body: string;
  section: string;
  // The line after its closing fence.
  end: number;
}

function blocks(text: string): Block[] {
  const lines = text.split('\n');
  const found: Block[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (/^#{1,6} /.test(lines[i])) section = lines[i].replace(/^#+ /, '');
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const close = lines.findIndex((line, j) => j > i && line === '```');
    if (close < 0) throw new Error(`line ${i + 1}: a code block that is never closed`);
    found.push({ line: i + 1, info: open[1].trim(), body: lines.slice(i + 1, close).join('\n'), section, end: close + 1 });
    i = close;
  }
  return found;
}

export function docExamples(file: string, text: string): DocExample[] {
  const all = blocks(text);
  const lines = text.split('\n');
  const examples: DocExample[] = [];
  all.forEach((block, index) => {
    if (block.info !== 'sh' && block.info !== 'js') return;
    const next = all[index + 1];
    const adjacent = next !== undefined && lines.slice(block.end, next.line - 1).every((line) => line.trim() === '');
    const output = adjacent && next.info === 'text' ? next.body : '';
    examples.push({ file, line: block.line, section: block.section, language: block.info, code: block.body, output });
  });
  return examples;
}
