import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildOpenApi, createApp } from '../src/app.factory';
import { AppLogger } from '../src/common/app-logger';
import { loadConfig } from '../src/config/app-config';

/** Writes the OpenAPI document the code generates to openapi.json at the repository root. */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, APP_ROLE: 'api', LOG_LEVEL: 'warn', DOCS_UI_ENABLED: 'false' });
  const app = await createApp(config, new AppLogger('warn'));
  await app.init();
  const target = resolve(__dirname, '..', '..', 'openapi.json');
  writeFileSync(target, `${JSON.stringify(buildOpenApi(app), null, 2)}\n`);
  await app.close();
  process.stdout.write(`wrote ${target}\n`);
}

void main();
