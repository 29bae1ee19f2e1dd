import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The folder, relative to the repository root, where the console's static files live. */
export const AGENT_CONSOLE_ASSET_FOLDER = join('libs', 'simulators', 'src', 'console', 'assets');

const PROBE = 'agent-console.html';

/**
 * Finds the console's static files. They are plain HTML, CSS and JavaScript that the browser loads as they are, so the
 * build (swc, TypeScript only) does not copy them: from `dist/` the lookup walks up to the repository's source folder.
 */
export function findAgentConsoleAssets(start = __dirname): string | undefined {
  const beside = join(start, 'assets');
  if (existsSync(join(beside, PROBE))) return beside;
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, AGENT_CONSOLE_ASSET_FOLDER);
    if (existsSync(join(candidate, PROBE))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Reads the console's files once and keeps them; a missing folder is reported when the page is asked for. */
export class AgentConsoleAssets {
  private readonly cache = new Map<string, Buffer>();
  private folder?: string | null;

  constructor(private readonly start = __dirname) {}

  read(file: string): Buffer {
    const cached = this.cache.get(file);
    if (cached) return cached;
    if (this.folder === undefined) this.folder = findAgentConsoleAssets(this.start) ?? null;
    if (this.folder === null) {
      throw new Error(`The agent console's files were not found (looked for ${AGENT_CONSOLE_ASSET_FOLDER} above ${this.start})`);
    }
    const content = readFileSync(join(this.folder, file));
    this.cache.set(file, content);
    return content;
  }
}
