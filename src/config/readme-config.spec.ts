import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configReference, readmeWithConfig } from '../../scripts/config-reference';

describe('README configuration reference', () => {
  it('lists every variable of AppConfig with its default', () => {
    const table = configReference();
    for (const name of ['APP_ROLE', 'DATABASE_URL', 'REDIS_URL', 'PORT', 'SECRETS_KEY', 'BOOTSTRAP_API_KEY']) expect(table).toContain(`\`${name}\``);
    expect(table).toContain('| `PORT` | `3000` |');
    expect(table).toContain('| `SECRETS_KEY` | (required) |');
  });

  it('is up to date in README.md (run `npm run readme:config`)', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    expect(readmeWithConfig(readme)).toBe(readme);
  });
});
