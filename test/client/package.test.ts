/**
 * @cloud-queues/client stands alone: its package.json declares no runtime dependency and exports
 * ESM with types, its build (`npm run build --prefix client`) compiles src/ only, and the built
 * module loads in plain Node (no tsx, no repository around it) with every public name.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import * as api from '../../client/src/index.js';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('../../client/', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
const pkg = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8'));
const out = mkdtempSync(join(tmpdir(), 'cloud-queues-client-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('@cloud-queues/client package', () => {
  it('is ESM with types, for Node 20+, with no runtime dependencies', () => {
    expect(pkg).toMatchObject({
      name: '@cloud-queues/client',
      type: 'module',
      engines: { node: '>=20' },
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: ['dist', 'README.md'],
    });
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.peerDependencies).toBeUndefined();
  });

  it('builds from src/ alone and the built module loads in plain Node', async () => {
    // The package's own build (its tsconfig: rootDir src), emitted outside the repository.
    const copy = join(out, 'client');
    await run(process.execPath, [TSC, '-p', join(CLIENT, 'tsconfig.json'), '--outDir', join(copy, 'dist')], { cwd: CLIENT });
    expect(existsSync(join(copy, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(copy, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(copy, 'dist/generated/routes.js'))).toBe(true);

    const script = `import(${JSON.stringify(join(copy, 'dist/index.js'))}).then((m) => console.log(JSON.stringify(Object.keys(m).sort())))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: out });
    expect(JSON.parse(stdout)).toEqual(Object.keys(api).sort());
  }, 120_000);
});
