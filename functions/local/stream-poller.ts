/**
 * Local mode's stand-in for the Lambda event source mapping: reads the table's stream from
 * DynamoDB Local (@aws-sdk/client-dynamodb-streams) and hands the records to the same handler the
 * notifier Lambda runs, with the same contract — the handler names the records it could not
 * handle, and the stream resumes from the first of them (after a pause), as Lambda does with
 * ReportBatchItemFailures.
 *
 * Several local servers may share one DynamoDB Local: a lease item in the table lets one of them
 * read the stream at a time, and the position reached in each shard is saved in it, so a server
 * that restarts (or takes over) resumes where the last reader stopped instead of delivering
 * everything again or skipping what was posted meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Logger } from '../http/context.js';
import type { ChangeRecord } from '../notify/notifier.js';
import { isConditionalCheckFailed } from '../store/dynamo/errors.js';
import { NOTIFYING_PREFIXES } from '../store/dynamo/changes.js';
import { streamCheckpointUpdate, streamLeaseUpdate } from '../store/dynamo/requests.js';
import { ATTR } from '../store/dynamo/schema.js';

/** Pause between reads of a shard that had nothing new: doubles while idle, up to IDLE_MAX_MS. */
const IDLE_MS = 100;
/**
 * NOTE: DynamoDB Local keeps every table's stream records in one SQLite table keyed by sequence
 * number alone, so a read of a quiet shard scans what other tables wrote since: an idle reader
 * backs off instead of scanning ten times a second (a delivery after a quiet spell waits at most this).
 */
const IDLE_MAX_MS = 500;
/** After the handler failed records: try them again this much later. */
const FAILURE_PAUSE_MS = 1_000;
const LEASE_MS = 10_000;
/**
 * How often the shard list is read again besides when a shard closes (a child shard appears then).
 * NOTE: DynamoDB Local's DescribeStream looks for the stream's first record by scanning the stream
 * records of every table in the database, so its cost grows with every write anyone made: polled
 * every few seconds it ends up occupying DynamoDB Local's single SQLite thread (a test suite's
 * worth of writes made every request wait on it). Read at start, when a shard ends, and this often.
 */
const SHARDS_EVERY_MS = 60_000;
/** How often the shard list is read while a closed shard's child has not appeared yet. */
const CHILD_SHARD_MS = 1_000;
const RECORDS_PER_READ = 1_000;

export interface StreamPollerOptions {
  readonly endpoint: string;
  readonly tableName: string;
  /** The table client (lease and positions). */
  readonly client: DynamoDBDocumentClient;
  /** Handles a batch; returns the ids (sequence numbers) of records to hand over again. */
  readonly handle: (records: ChangeRecord[]) => Promise<string[]>;
  readonly log: Logger;
}

export interface StreamPoller {
  /** Stops reading and waits for the batch being handled. */
  stop(): Promise<void>;
}

interface ShardState {
  readonly id: string;
  readonly parent?: string;
  iterator?: string;
  /** Last sequence number handled. */
  position?: string;
  /** Closed and read to its end. */
  done: boolean;
  /** Not before (after a failure). */
  resumeAt: number;
}


/**
 * A stream record as the notifier takes it. Only the images of items it may act on are decoded
 * (the Lambda's event filter passes no others); NOTE: the streams client reads an empty map
 * attribute as `{}`, which unmarshall refuses, and an item of no interest must not stop the stream.
 */
export function toChangeRecord(record: StreamRecord): ChangeRecord {
  const image = record.dynamodb?.NewImage;
  const pk = record.dynamodb?.Keys?.[ATTR.pk]?.S ?? '';
  const relevant = image !== undefined && Object.values(NOTIFYING_PREFIXES).some((prefix) => pk.startsWith(prefix));
  return {
    id: record.dynamodb?.SequenceNumber ?? '',
    ...(record.eventName ? { eventName: record.eventName } : {}),
    ...(relevant ? { newImage: unmarshall(image as Record<string, AttributeValue>) } : {}),
  };
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const config = { endpoint: options.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const streams = new DynamoDBStreamsClient(config);
  const owner = randomUUID();
  const shards = new Map<string, ShardState>();
  let stopped = false;
  let leaseUntil = 0;
  let shardsReadAt = 0;
  let streamArn: string | undefined;
  const stopping = new AbortController();
  /** Waits `ms`, or less when the poller stops meanwhile. */
  const sleep = (ms: number) => delay(ms, undefined, { signal: stopping.signal }).catch(() => undefined);

  const now = () => Date.now();

  /** Takes or renews the lease; false while another server holds it. Loads the saved positions when taking it. */
  async function holdLease(): Promise<boolean> {
    if (leaseUntil - now() > LEASE_MS / 2) return true;
    try {
      const out = await options.client.send(new UpdateCommand(streamLeaseUpdate(options.tableName, owner, now() + LEASE_MS, now())));
      if (leaseUntil === 0 || leaseUntil < now()) {
        // Newly ours: start from the positions the last reader saved.
        shards.clear();
        const saved = (out.Attributes?.cp ?? {}) as Record<string, string>;
        for (const [id, position] of Object.entries(saved)) shards.set(id, { id, position, done: false, resumeAt: 0 });
        shardsReadAt = 0;
      }
      leaseUntil = now() + LEASE_MS;
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      leaseUntil = 0;
      return false;
    }
  }

  async function readShards(): Promise<void> {
    // A closed shard whose child is not listed yet: look again soon (its records continue there).
    const orphaned = [...shards.values()].some((s) => s.done && ![...shards.values()].some((c) => c.parent === s.id));
    if (now() - shardsReadAt < (orphaned ? CHILD_SHARD_MS : SHARDS_EVERY_MS)) return;
    if (!streamArn) {
      const table = new DynamoDBClient(config);
      try {
        streamArn = (await table.send(new DescribeTableCommand({ TableName: options.tableName }))).Table?.LatestStreamArn;
      } finally {
        table.destroy();
      }
      if (!streamArn) throw new Error(`table ${options.tableName} has no stream`);
    }
    const listed: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }));
      listed.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    for (const shard of listed) {
      const id = shard.ShardId as string;
      const known = shards.get(id);
      if (known) {
        if (known.parent === undefined && shard.ParentShardId) shards.set(id, { ...known, parent: shard.ParentShardId });
        continue;
      }
      shards.set(id, { id, ...(shard.ParentShardId ? { parent: shard.ParentShardId } : {}), done: false, resumeAt: 0 });
    }
    shardsReadAt = now();
  }

  /** A shard is read once its parent (if the stream still has it) is read to its end: records stay in order per key. */
  const ready = (s: ShardState): boolean => !s.done && s.resumeAt <= now() && (s.parent === undefined || !shards.has(s.parent) || (shards.get(s.parent) as ShardState).done);

  async function iteratorOf(s: ShardState): Promise<string | undefined> {
    if (s.iterator) return s.iterator;
    const out = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: s.id,
        ...(s.position ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: s.position } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  }

  /** Reads one page of a shard and hands it over; true when it had records. */
  async function readShard(s: ShardState): Promise<boolean> {
    const iterator = await iteratorOf(s);
    if (!iterator) {
      s.done = true;
      return false;
    }
    let out;
    try {
      out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: RECORDS_PER_READ }));
    } catch (err) {
      if ((err as { name?: string }).name === 'ExpiredIteratorException') {
        s.iterator = undefined;
        return false;
      }
      throw err;
    }
    const records = out.Records ?? [];
    s.iterator = out.NextShardIterator;
    if (!out.NextShardIterator) {
      s.done = true;
      shardsReadAt = 0; // closed: its child shard is listed now
    }
    if (records.length === 0) return false;
    const changes = records.map(toChangeRecord);
    const failed = new Set(await options.handle(changes));
    const firstFailed = changes.findIndex((c) => failed.has(c.id));
    const handled = firstFailed < 0 ? changes : changes.slice(0, firstFailed);
    const last = handled[handled.length - 1];
    if (last) {
      s.position = last.id;
      await options.client.send(new UpdateCommand(streamCheckpointUpdate(options.tableName, owner, s.id, last.id)));
    }
    if (firstFailed >= 0) {
      // Resume at the first record not handled, a moment later (as Lambda retries a batch).
      s.iterator = undefined;
      s.done = false;
      s.resumeAt = now() + FAILURE_PAUSE_MS;
    }
    return true;
  }

  let idleMs = IDLE_MS;
  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      try {
        if (await holdLease()) {
          await readShards();
          for (const s of [...shards.values()].filter(ready)) {
            if (stopped) break;
            busy = (await readShard(s)) || busy;
          }
        }
      } catch (err) {
        if ((err as { name?: string }).name === 'ResourceNotFoundException') streamArn = undefined;
        options.log.error('stream read failed', { error: err instanceof Error ? err.message : String(err) });
        await sleep(FAILURE_PAUSE_MS);
      }
      if (busy) idleMs = IDLE_MS;
      else if (!stopped) {
        await sleep(leaseUntil === 0 ? LEASE_MS / 2 : idleMs);
        idleMs = Math.min(IDLE_MAX_MS, idleMs * 2);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      stopping.abort();
      await loop;
      streams.destroy();
    },
  };
}
