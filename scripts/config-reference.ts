import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppConfig } from '../src/config/app-config';

/** The repository root, whether this runs from scripts/ (tests) or dist/scripts/ (npm run). */
function repositoryRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(resolve(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const ROOT = repositoryRoot();

/**
 * Builds the README's configuration table from src/config/app-config.ts: the doc comment above each variable and
 * the default of a fresh AppConfig. Used by `npm run readme:config` and checked by a test.
 */
export function configReference(): string {
  const source = readFileSync(resolve(ROOT, 'src/config/app-config.ts'), 'utf8');
  const defaults = new AppConfig() as unknown as Record<string, unknown>;
  const rows: string[] = ['| variable | default | meaning |', '|---|---|---|'];
  const pattern = /\/\*\*\s*((?:(?!\*\/)[\s\S])*?)\*\/\s*(?:@[^\n]*\n\s*)*([A-Z][A-Z0-9_]+)[!?]?\s*(?::[^=;\n]+)?(?:=\s*([^;\n]+))?;/g;
  for (const match of source.matchAll(pattern)) {
    const [, comment, name] = match;
    const text = comment.replace(/^\*\s?/, '').replace(/\n\s*\*\s?/g, ' ').replace(/\s+/g, ' ').trim();
    const value = defaults[name];
    const shown = value === undefined ? (/Required/.test(text) ? '(required)' : '(none)') : `\`${String(value)}\``;
    rows.push(`| \`${name}\` | ${shown} | ${text.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

const START = '<!-- config:start -->';
const END = '<!-- config:end -->';

export function readmeWithConfig(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < 0) throw new Error('README.md has no config markers');
  return `${readme.slice(0, start + START.length)}\n${configReference()}\n${readme.slice(end)}`;
}

if (require.main === module) {
  const { writeFileSync } = require('node:fs') as typeof import('node:fs');
  const path = resolve(ROOT, 'README.md');
  writeFileSync(path, readmeWithConfig(readFileSync(path, 'utf8')));
  process.stdout.write('README.md configuration reference updated\n');
}
