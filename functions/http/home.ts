/**
 * The JSON-home document served at GET /v2 and /v2/, in the shape Zaqar serves
 * (docs/zaqar-reference.md §3), minus what we do not serve (pools,
 * flavors). NOTE: where Zaqar's document disagrees with its own handlers we follow the
 * handlers: the message-delete template says `{?claim_id}` (Zaqar: `{?claim}`, a parameter
 * nothing reads), and every query parameter we accept is listed. test/integration/home.test.ts
 * checks each template against ROUTES and the OpenAPI parameters. Parameters Cloud Queues adds to
 * Zaqar (`wait`, long polling) are named in their resource's hints under EXTENSION_KEY, as the
 * OpenAPI document marks them.
 */
import { EXTENSION_KEY, LONG_POLLING } from './schemas.js';

const param = (name: string) => `param/${name}`;
const Q = '/v2/queues/{queue_name}';
const qv = { queue_name: param('queue_name') };
const hints = (allow: string[], acceptPost = false) => ({
  allow,
  formats: { 'application/json': {} },
  ...(acceptPost ? { 'accept-post': ['application/json'] } : {}),
});
/** Hints of a resource whose `wait` parameter is the long-polling extension. */
const longPollHints = (allow: string[], acceptPost = false) => ({ ...hints(allow, acceptPost), [EXTENSION_KEY]: { wait: LONG_POLLING[EXTENSION_KEY] } });

export function buildHomeDocument() {
  return {
    resources: {
      'rel/queues': {
        'href-template': '/v2/queues{?marker,limit,detailed,with_count,name}',
        'href-vars': {
          marker: param('marker'),
          limit: param('queue_limit'),
          detailed: param('detailed'),
          with_count: param('with_count'),
          name: param('name'),
        },
        hints: hints(['GET']),
      },
      'rel/queue': { 'href-template': Q, 'href-vars': qv, hints: hints(['GET', 'PUT', 'DELETE', 'PATCH']) },
      'rel/queue_stats': { 'href-template': `${Q}/stats`, 'href-vars': qv, hints: hints(['GET']) },
      'rel/queue_purge': { 'href-template': `${Q}/purge`, 'href-vars': qv, hints: hints(['POST'], true) },
      'rel/queue_share': { 'href-template': `${Q}/share`, 'href-vars': qv, hints: hints(['POST'], true) },
      'rel/subscriptions_get': {
        'href-template': `${Q}/subscriptions{?marker,limit}`,
        'href-vars': { ...qv, marker: param('marker'), limit: param('subscription_limit') },
        hints: hints(['GET']),
      },
      'rel/subscriptions_post': { 'href-template': `${Q}/subscriptions`, 'href-vars': qv, hints: hints(['POST'], true) },
      'rel/subscription': {
        'href-template': `${Q}/subscriptions/{subscription_id}`,
        'href-vars': { ...qv, subscription_id: param('subscription_id') },
        hints: hints(['GET', 'DELETE']),
      },
      'rel/subscription_patch': {
        'href-template': `${Q}/subscriptions/{subscription_id}`,
        'href-vars': { ...qv, subscription_id: param('subscription_id') },
        hints: hints(['PATCH'], true),
      },
      // Zaqar serves it but its home document does not list it.
      'rel/subscription_confirm': {
        'href-template': `${Q}/subscriptions/{subscription_id}/confirm`,
        'href-vars': { ...qv, subscription_id: param('subscription_id') },
        hints: hints(['PUT']),
      },
      // Extension (not in Zaqar): move dead-lettered messages back (docs/design.md, "Dead letters").
      'rel/queue_redrive': { 'href-template': `${Q}/redrive`, 'href-vars': qv, hints: hints(['POST', 'GET', 'DELETE'], true) },
      'rel/messages': {
        'href-template': `${Q}/messages{?marker,limit,echo,include_claimed,include_delayed,wait,ids}`,
        'href-vars': {
          ...qv,
          marker: param('marker'),
          limit: param('messages_limit'),
          echo: param('echo'),
          include_claimed: param('include_claimed'),
          include_delayed: param('include_delayed'),
          wait: param('wait'),
          ids: param('ids'),
        },
        hints: longPollHints(['GET']),
      },
      'rel/post_messages': { 'href-template': `${Q}/messages`, 'href-vars': qv, hints: hints(['POST'], true) },
      'rel/messages_delete': {
        'href-template': `${Q}/messages{?ids,pop}`,
        'href-vars': { ...qv, ids: param('ids'), pop: param('pop') },
        hints: hints(['DELETE']),
      },
      'rel/message_delete': {
        'href-template': `${Q}/messages/{message_id}{?claim_id}`,
        'href-vars': { ...qv, message_id: param('message_id'), claim_id: param('claim_id') },
        hints: hints(['DELETE']),
      },
      'rel/message_get': {
        'href-template': `${Q}/messages/{message_id}`,
        'href-vars': { ...qv, message_id: param('message_id') },
        hints: hints(['GET']),
      },
      'rel/claim': {
        'href-template': `${Q}/claims/{claim_id}`,
        'href-vars': { ...qv, claim_id: param('claim_id') },
        hints: hints(['GET']),
      },
      'rel/post_claim': {
        'href-template': `${Q}/claims{?limit,wait}`,
        'href-vars': { ...qv, limit: param('claim_limit'), wait: param('wait') },
        hints: longPollHints(['POST'], true),
      },
      'rel/patch_claim': {
        'href-template': `${Q}/claims/{claim_id}`,
        'href-vars': { ...qv, claim_id: param('claim_id') },
        hints: hints(['PATCH'], true),
      },
      'rel/delete_claim': {
        'href-template': `${Q}/claims/{claim_id}`,
        'href-vars': { ...qv, claim_id: param('claim_id') },
        hints: hints(['DELETE']),
      },
      'rel/ping': { 'href-template': '/v2/ping', hints: hints(['GET', 'HEAD']) },
      'rel/health': { href: '/v2/health', hints: hints(['GET']) },
      'rel/openapi': { href: '/v2/openapi.json', hints: hints(['GET']) },
      // Extension (not in Zaqar): the project's per-queue figures in Prometheus text (docs/monitoring.md).
      'rel/metrics': { href: '/v2/metrics', hints: { allow: ['GET'], formats: { 'text/plain': {} } } },
    },
  };
}
