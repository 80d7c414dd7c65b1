/** Fenced sections of docs/benchmarks.md (bench/sections.ts): written in place, kept across re-renders. */
import { describe, expect, it } from 'vitest';
import { keepSections, spliceSection } from '../../bench/sections.js';

describe('bench sections', () => {
  it('appends a section the page does not have, then replaces it in place', () => {
    const once = spliceSection('# Benchmarks\n\nintro\n', 'long-polling', '## A\n\none');
    expect(once).toBe('# Benchmarks\n\nintro\n\n<!-- section:long-polling:begin -->\n## A\n\none\n<!-- section:long-polling:end -->\n');
    const page = `${once}\n## After\n`;
    const twice = spliceSection(page, 'long-polling', '## A\n\ntwo');
    expect(twice).toContain('two');
    expect(twice).not.toContain('one');
    expect(twice.endsWith('## After\n')).toBe(true);
    expect(twice.match(/section:long-polling:begin/g)).toHaveLength(1);
  });

  it('a re-rendered page keeps every fenced section of the old one, and nothing else of it', () => {
    const old = spliceSection(spliceSection('# Old\n\nold tables\n', 'a', 'A body'), 'b', 'B body');
    const fresh = keepSections(old, '# New\n\nnew tables\n');
    expect(fresh).toContain('new tables');
    expect(fresh).not.toContain('old tables');
    expect(fresh).toContain('A body');
    expect(fresh).toContain('B body');
    expect(keepSections(fresh, fresh)).toBe(fresh);
  });
});
