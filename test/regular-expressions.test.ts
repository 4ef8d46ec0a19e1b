// No regular expression of the service can take time that grows faster than linearly with its
// input (ReDoS): every regex literal and RegExp constructor in src/ and workers/ is found by
// TypeScript's parser and judged by recheck (a ReDoS checker that combines automata theory and
// fuzzing, and reports an attack string for what it finds). A RegExp built from a value at run
// time cannot be judged, so there is none. Two were found by this test: the .npy header's (now a
// scanner) and the base64 check of an image string (now a loop), each quadratic in its input.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkSync } from 'recheck';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

interface Found {
  where: string;
  source?: string;
  flags?: string;
  problem?: string;
}

async function typescriptFiles(directory: string): Promise<string[]> {
  const entries = await readdir(path.join(root, directory), { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => path.join(entry.parentPath, entry.name));
}

// Every /literal/ and RegExp(…) of a file.
function regularExpressions(file: string, text: string): Found[] {
  const found: Found[] = [];
  const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const where = (node: ts.Node) => `${path.relative(root, file)}:${sourceFile.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isRegularExpressionLiteral(node)) {
      const literal = node.text;
      const end = literal.lastIndexOf('/');
      found.push({ where: where(node), source: literal.slice(1, end), flags: literal.slice(end + 1) });
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [pattern, flags] = node.arguments ?? [];
      const isText = (argument: ts.Expression | undefined) => argument === undefined || ts.isStringLiteralLike(argument);
      if (pattern && ts.isStringLiteralLike(pattern) && isText(flags)) {
        found.push({ where: where(node), source: pattern.text, flags: flags ? (flags as ts.StringLiteralLike).text : '' });
      } else {
        found.push({ where: where(node), problem: `${node.getText()} is built at run time and cannot be checked` });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

describe('regular expressions in src/ and workers/', () => {
  it('are all safe from ReDoS by recheck (linear at worst), and none is built at run time', async () => {
    // The checker's pure JavaScript back end: no Java, no native binary, no worker thread.
    process.env.RECHECK_SYNC_BACKEND = 'pure';
    const files = [...(await typescriptFiles('src')), ...(await typescriptFiles('workers'))];
    const found = (await Promise.all(files.map(async (file) => regularExpressions(file, await readFile(file, 'utf8'))))).flat();
    // The count keeps the test from passing on nothing: the service has about thirty.
    expect(found.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const { where, source, flags, problem } of found) {
      if (problem) {
        problems.push(`${where}: ${problem}`);
        continue;
      }
      const verdict = checkSync(source!, flags!, { timeout: 20_000 });
      if (verdict.status === 'safe') continue;
      problems.push(verdict.status === 'vulnerable'
        ? `${where}: /${source}/${flags} is ${verdict.complexity.summary}; attack: ${verdict.attack.pattern}`
        : `${where}: /${source}/${flags} could not be judged (${verdict.error.kind})`);
    }
    console.log(`[regular expressions] ${found.length} in ${files.length} files, ${problems.length} refused`);
    expect(problems).toEqual([]);
  }, 120_000);
});
