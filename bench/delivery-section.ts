/**
 * The push-delivery section of docs/benchmarks.md (bench/delivery.ts measures it): rendered from
 * the figures, kept between markers so `npm run bench` (which rewrites the rest of the file)
 * and `npm run bench:delivery` each update only their own part. Pure.
 */
import { fmt } from './stats.js';

export const DELIVERY_START = '<!-- delivery:start -->';
export const DELIVERY_END = '<!-- delivery:end -->';

export interface ScenarioFigures {
  readonly producers: number;
  readonly subscribers: number;
  readonly messages: number;
  /** Distinct (message, subscriber) deliveries received. */
  readonly delivered: number;
  readonly missing: number;
  /** Deliveries received more than once (at least once, not exactly once). */
  readonly duplicates: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly deliveriesPerSecond: number;
}

export interface DeliveryResults {
  readonly date: string;
  readonly cpus: number;
  readonly load: number;
  readonly seconds: number;
  readonly latency: ScenarioFigures;
  readonly throughput: readonly ScenarioFigures[];
}

/** The section, markers included. */
export function renderDeliverySection(r: DeliveryResults): string {
  const row = (f: ScenarioFigures, scenario = 'batches of 10, as fast as accepted') =>
    `| ${scenario} | ${f.producers} | ${f.subscribers} | ${f.messages} | ${f.delivered} | ${f.missing} | ${f.duplicates} | ${fmt(f.p50Ms)} | ${fmt(f.p99Ms)} | ${fmt(f.deliveriesPerSecond)} |`;
  return [
    DELIVERY_START,
    '## Push delivery (subscriptions)',
    '',
    `Local mode (\`npm start\`'s wiring: DynamoDB Local's stream → the notifier → webhooks on loopback), ${r.date}, ${r.cpus} cores, load average ${fmt(r.load)} at the end, ${r.seconds} s per scenario. Latency is from the POST request being sent to the webhook receiving the message; deliveries/s is every (message, subscriber) delivery over first post → last delivery. Reproduce with \`npm run bench:delivery\` (\`-- --quick\` for a short run).`,
    '',
    '| posting | producers | subscribers | messages | delivered | missing | duplicates | p50 (ms) | p99 (ms) | deliveries/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row(r.latency, 'one at a time, 50 ms apart'),
    ...r.throughput.map((f) => row(f)),
    '',
    'In local mode the stream is read again 100 ms after an empty read, backing off to 500 ms while it stays idle (functions/local/stream-poller.ts), which sets the floor of the latency; with many subscribers the latency is a backlog: the single local notifier process delivers at most what the deliveries/s column shows and the rest waits. In AWS, Lambda polls each stream shard about four times a second and the event source waits up to 1 s to fill a batch (lib/notifier.ts), so expect roughly 0.3–1.5 s post → delivery there, plus the receiver\'s own time.',
    '',
    '### Cost per delivered message in AWS (on paper)',
    '',
    'Prices: us-east-1 on-demand, arm64 Lambda. DynamoDB Streams reads made by a Lambda trigger are free; the stream itself costs nothing extra. Per delivered message, first attempt succeeding:',
    '',
    '| item | how much | cost per million deliveries |',
    '| --- | --- | ---: |',
    '| Lambda requests ($0.20 / M) | one invocation per stream batch (up to 100 records, 1 s window): 1/100 at load, 1 per message when idle | $0.002 at load … $0.20 idle |',
    '| Lambda duration (512 MB, $0.0000133334 / GB-s) | ≈ 50 ms of a webhook round trip per delivery, 8 deliveries in flight per batch: ≈ 6 ms of billed time each | ≈ $0.04 (≈ $0.33 with a 50 ms receiver and no overlap) |',
    '| DynamoDB reads ($0.125 / M RRU) | the queue\'s subscriptions (one Query) and metadata (one GetItem) per queue per container every 5 s, shared by every message meanwhile | < $0.01 at load; 2 reads per message when idle ≈ $0.25 |',
    '| DynamoDB writes | none: delivery writes nothing (the post already wrote the message, whose INSERT is the stream record) | $0 |',
    '| SQS ($0.40 / M requests) | only for a retry or a delayed message: one send + one receive + one delete per attempt | $0 when receivers answer; ≈ $1.20 per million retries |',
    '',
    'So a busy queue pays ≈ $0.05 per million deliveries (≈ 5 × 10⁻⁸ $ each), dominated by Lambda duration, i.e. by how fast receivers answer; an idle queue (one message at a time) pays ≈ $0.80 per million. Both are small beside the post itself (≥ 2 WRU for the message and its lane ≈ $1.25 per million at $0.625 / M WRU).',
    DELIVERY_END,
  ].join('\n');
}

/** `doc` with its delivery section replaced by `section` (appended when it has none). */
export function spliceDeliverySection(doc: string, section: string): string {
  const start = doc.indexOf(DELIVERY_START);
  const end = doc.indexOf(DELIVERY_END);
  if (start < 0 || end < start) return `${doc.trimEnd()}\n\n${section}\n`;
  return `${doc.slice(0, start)}${section}${doc.slice(end + DELIVERY_END.length)}`;
}

/** The delivery section of `doc`, markers included, if it has one. */
export function deliverySectionOf(doc: string): string | undefined {
  const start = doc.indexOf(DELIVERY_START);
  const end = doc.indexOf(DELIVERY_END);
  return start >= 0 && end > start ? doc.slice(start, end + DELIVERY_END.length) : undefined;
}
