/** Helpers shared by the reliability tests: exhaustive listing and figure reporting. */
import { appendFileSync } from 'node:fs';
import type { Client } from '../support/http.js';

export interface Listed {
  readonly id: string;
  readonly body: unknown;
}

/** Every message of the queue, in queue order, claimed and delayed ones included (follows `next` links). */
export async function listAll(client: Client, queue: string, pageLimit = 20): Promise<Listed[]> {
  const out: Listed[] = [];
  let path = `/v2/queues/${queue}/messages?echo=true&include_claimed=true&include_delayed=true&limit=${pageLimit}`;
  for (;;) {
    const r = await client.get(path);
    if (r.status !== 200) throw new Error(`listing ${queue}: ${r.status} ${r.text}`);
    const page = r.json.messages as { id: string; body: unknown }[];
    if (page.length === 0) return out;
    out.push(...page.map((m) => ({ id: m.id, body: m.body })));
    const next = (r.json.links as { rel: string; href: string }[]).find((l) => l.rel === 'next');
    if (!next) return out;
    path = next.href;
  }
}

/**
 * Prints the figures of a run (and appends them as one JSON line to $RELIABILITY_FIGURES when set),
 * so docs/reliability.md can quote measured numbers.
 */
export function record(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ name, at: new Date().toISOString(), ...figures });
  console.log(`[reliability] ${line}`);
  const file = process.env.RELIABILITY_FIGURES;
  if (file) appendFileSync(file, `${line}\n`);
}
