/**
 * Sections of docs/benchmarks.md that another bench script writes (e.g. `npm run bench:longpoll`):
 * fenced by HTML comments, replaced in place by their script, and carried over when `npm run bench`
 * rewrites the rest of the page. Pure text functions (test/unit/bench-sections.test.ts).
 */

const begin = (name: string) => `<!-- section:${name}:begin -->`;
const end = (name: string) => `<!-- section:${name}:end -->`;
const FENCED = /<!-- section:([a-z0-9-]+):begin -->[\s\S]*?<!-- section:\1:end -->/g;

/** `doc` with the section `name` set to `body`: replaced where it is, else appended. */
export function spliceSection(doc: string, name: string, body: string): string {
  const fenced = `${begin(name)}\n${body.trim()}\n${end(name)}`;
  const at = doc.indexOf(begin(name));
  const to = doc.indexOf(end(name));
  if (at >= 0 && to > at) return `${doc.slice(0, at)}${fenced}${doc.slice(to + end(name).length)}`;
  return `${doc.trimEnd()}\n\n${fenced}\n`;
}

/** `fresh` (a newly rendered page) with every fenced section of `old` carried over. */
export function keepSections(old: string, fresh: string): string {
  let out = fresh;
  for (const m of old.matchAll(FENCED)) {
    const name = m[1] as string;
    const body = m[0].slice(begin(name).length, m[0].length - end(name).length);
    out = spliceSection(out, name, body);
  }
  return out;
}
