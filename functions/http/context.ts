/** What every handler receives: the event, the resolved tenant and client, and the injected dependencies. */
import type { Clock } from '../core/clock.js';
import type { QueueRef, QueueStore } from '../core/model.js';
import type { DeploymentSecrets } from '../core/secrets.js';
import type { SubscriptionStore } from '../core/subscriptions.js';
import type { AddressPolicy } from '../notify/ssrf.js';
import type { HttpEvent, HttpResponse } from './request.js';
import { pathParam } from './request.js';
import { validateQueueName } from './validation.js';

export interface ApiConfig {
  /**
   * Trust the client's X-Project-ID header as the tenant (signed URLs are still verified). Only
   * for local mode or a deployment that explicitly opts in; otherwise the tenant is the one the
   * authorizer established (functions/auth/authenticate.ts), passed in its context.
   */
  readonly trustProjectHeader: boolean;
}

/** What the deployment decides about subscriptions (docs/subscriptions.md). */
export interface SubscriptionSettings {
  /** Zaqar's `require_confirmation`: a webhook receives nothing but its confirmation until confirmed. */
  readonly requireConfirmation: boolean;
  /** Which addresses a subscriber URL may resolve to (checked at subscribe time and at every delivery). */
  readonly addresses: AddressPolicy;
}

export interface Logger {
  info(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface Deps {
  readonly store: QueueStore;
  readonly clock: Clock;
  readonly config: ApiConfig;
  readonly log: Logger;
  /** Signing secret (share, signed URLs in trusted-header mode) and message key (encrypted queues). */
  readonly secrets: DeploymentSecrets;
  readonly subscriptions: SubscriptionStore;
  readonly subscriptionSettings: SubscriptionSettings;
}

export interface HandlerContext {
  readonly event: HttpEvent;
  /** Empty only on public routes in authorizer mode. */
  readonly project: string;
  /** Normalized Client-ID (32 lowercase hex); empty only on GET /. */
  readonly clientId: string;
  readonly deps: Deps;
  /** Milliseconds the Lambda invocation has left (its context's getRemainingTimeInMillis); absent locally. */
  readonly remainingMs?: () => number;
}

export type RouteHandler = (ctx: HandlerContext) => Promise<HttpResponse>;

/** The queue addressed by the path, validated. */
export function queueRef(ctx: HandlerContext): QueueRef {
  return { project: ctx.project, queue: validateQueueName(pathParam(ctx.event, 'queue_name')) };
}
