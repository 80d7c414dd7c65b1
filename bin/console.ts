/**
 * `npm run console`: builds the web console (console/) into the module the API serves it from.
 * The console test fails when the committed module differs from what this writes, so run it
 * after changing anything under console/.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PAGE_MODULE, renderConsoleModule } from '../console/build.js';

const target = fileURLToPath(new URL(`../${PAGE_MODULE}`, import.meta.url));
writeFileSync(target, await renderConsoleModule());
console.log(`wrote ${target}`);
