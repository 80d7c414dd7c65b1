/**
 * The real `npm run synth` (CDK CLI → bin/app.ts, local esbuild bundling, cdk-nag, CDK's template
 * validation), offline: no AWS credentials, no instance metadata. Then every function's asset
 * must be a bundled, minified index.js with its source map, exporting the function's handler
 * without building anything at import.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
/** Generous: bundling and cdk-nag on a loaded 2-core machine. */
const SYNTH_TIMEOUT_MS = 240_000;

interface Fn {
  Properties: { Handler: string; Code: { S3Key: string } };
}

describe('npm run synth', () => {
  const out = mkdtempSync(join(tmpdir(), 'cdk-synth-'));
  let stdout = '';
  let stderr = '';
  let functions: Fn[] = [];

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'CDK_DEFAULT_ACCOUNT']) delete env[key];
    ({ stdout, stderr } = await run('npm', ['run', 'synth', '--', '--output', out], {
      env,
      timeout: SYNTH_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    }));
    const template = JSON.parse(readFileSync(join(out, 'CloudQueues.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function') as unknown as Fn[];
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('exits 0 and warns that no JWT issuer was configured', () => {
    expect(`${stdout}${stderr}`).toContain('cloud-queues:no-auth-configured');
    expect(`${stdout}${stderr}`).not.toMatch(/AwsSolutions-\w+.*ERROR|\[Error at/);
  });

  it('bundles every function: minified index.js with a source map, handler exported, nothing built at import', () => {
    expect(functions.map((f) => f.Properties.Handler).sort()).toEqual(
      ['index.authorize', 'index.claims', 'index.fallback', 'index.handler', 'index.messages', 'index.queues', 'index.retry', 'index.stream', 'index.system'],
    );
    const require = createRequire(import.meta.url);
    for (const fn of functions) {
      const dir = join(out, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
      const bundle = join(dir, 'index.js');
      expect(existsSync(bundle), bundle).toBe(true);
      expect(existsSync(`${bundle}.map`)).toBe(true);
      // Minified: few, long lines.
      const text = readFileSync(bundle, 'utf8');
      expect(text.split('\n').length).toBeLessThan(200);
      expect(statSync(bundle).size).toBeGreaterThan(10_000);
      const exported = require(bundle) as Record<string, unknown>;
      const name = fn.Properties.Handler.replace(/^index\./, '');
      expect(typeof exported[name], name).toBe('function');
    }
  });
});
