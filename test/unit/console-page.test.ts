/** The console module the API serves is built from console/ by `npm run console`, never edited by hand. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PAGE_MODULE, renderConsoleModule } from '../../console/build.js';

describe('console page module', () => {
  it(`${PAGE_MODULE} is exactly what \`npm run console\` writes`, async () => {
    const committed = readFileSync(fileURLToPath(new URL(`../../${PAGE_MODULE}`, import.meta.url)), 'utf8');
    expect(committed === (await renderConsoleModule()), `${PAGE_MODULE} is stale: run \`npm run console\` and commit it`).toBe(true);
  });

  it('stays small: the page is in every API function bundle', async () => {
    const committed = readFileSync(fileURLToPath(new URL(`../../${PAGE_MODULE}`, import.meta.url)), 'utf8');
    expect(Buffer.byteLength(committed)).toBeLessThan(48 * 1024);
  });
});
