/**
 * `npm run openapi`: writes docs/openapi.json from the route table and schemas. The OpenAPI
 * test fails when the committed file differs from what this writes, so run it after changing
 * routes.ts or schemas.ts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApi } from '../functions/http/openapi.js';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, renderOpenApi());
console.log(`wrote ${target}`);
