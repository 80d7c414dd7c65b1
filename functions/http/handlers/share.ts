/** Zaqar's share route: a pre-signed URL for some of the queue's resources (functions/auth/signed-url.ts). */
import { createSignedUrl } from '../../auth/signed-url.js';
import { queueRef, type RouteHandler } from '../context.js';
import { json, rawBody } from '../request.js';
import { parseShareRequest } from '../validation.js';
import { queueHref } from './format.js';

export const shareQueue: RouteHandler = async (ctx) => {
  const ref = queueRef(ctx);
  const grant = parseShareRequest(rawBody(ctx.event), ctx.deps.clock.now());
  const signed = createSignedUrl(await ctx.deps.secrets.signingSecret(), {
    paths: grant.paths.map((p) => `${queueHref(ref.queue)}/${p}`),
    methods: grant.methods,
    project: ref.project,
    expiresMs: grant.expiresMs,
  });
  // Zaqar's key order (common/urls.py create_signed_url); 200, as Zaqar answers.
  const { paths, methods, project, expires, signature } = signed;
  return json(200, { paths, methods, project, expires, signature });
};
