/** Route id → handler. The route table (../routes.ts) says where each is served. */
import type { RouteId } from '../routes.js';
import type { RouteHandler } from '../context.js';
import * as claims from './claims.js';
import * as messages from './messages.js';
import * as metrics from './metrics.js';
import * as queues from './queues.js';
import * as redrive from './redrive.js';
import * as share from './share.js';
import * as system from './system.js';

export const HANDLERS: Record<RouteId, RouteHandler> = {
  versions: system.versions,
  home: system.home,
  openapi: system.openapi,
  'ping.get': system.ping,
  'ping.head': system.ping,
  health: system.health,
  console: system.consolePage,
  'queues.list': queues.listQueues,
  metrics: metrics.metrics,
  'queue.create': queues.createQueue,
  'queue.get': queues.getQueue,
  'queue.patch': queues.patchQueue,
  'queue.delete': queues.deleteQueue,
  'queue.stats': queues.queueStats,
  'queue.purge': queues.purgeQueue,
  'queue.share': share.shareQueue,
  'redrive.start': redrive.startRedrive,
  'redrive.get': redrive.getRedrive,
  'redrive.cancel': redrive.cancelRedrive,
  'messages.post': messages.postMessages,
  'messages.list': messages.listMessages,
  'messages.delete': messages.deleteMessages,
  'message.get': messages.getMessage,
  'message.delete': messages.deleteMessage,
  'claims.create': claims.createClaim,
  'claim.get': claims.getClaim,
  'claim.renew': claims.renewClaim,
  'claim.release': claims.releaseClaim,
};
