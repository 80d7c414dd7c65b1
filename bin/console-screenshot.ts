/**
 * `npm run console:screenshot`: starts the local stack (in-memory DynamoDB Local), fills a demo
 * project with a little traffic, opens the console in headless Chromium and writes
 * docs/console.png (the README's screenshot). Takes about a minute: the chart needs samples.
 */
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '../functions/local/stack.js';
import { launchChromium } from '../test/support/browser.js';
import { Client } from '../test/support/http.js';

const OUT = fileURLToPath(new URL('../docs/console.png', import.meta.url));
/** How long traffic runs while the console samples it (every 2 s). */
const TRAFFIC_MS = 45_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stack = await startLocalStack({ logRequest: () => undefined, logger: { info: () => undefined, error: () => undefined } });
const browser = await launchChromium();
try {
  const client = new Client(stack.url, 'demo');
  for (const q of ['billing', 'emails', 'thumbnails']) await client.put(`/v2/queues/${q}`);
  // Orders dead-letter after 5 deliveries: the console shows the policy and the dead-letter queue.
  await client.put('/v2/queues/orders', { body: { _max_claim_count: 5, _dead_letter_queue: 'orders-dlq' } });
  await client.postMessages('emails', [{ to: 'ada@example.com', template: 'welcome' }]);
  // A reminder scheduled 15 minutes out: counted as delayed, not free, until then.
  await client.post('/v2/queues/emails/messages', { body: { messages: [{ body: { to: 'bob@example.com', template: 'reminder' }, delay: 900 }] } });
  await client.postMessages('billing', [{ invoice: 1042, amount: '19.00' }, { invoice: 1043, amount: '7.50' }]);
  await client.postMessages('thumbnails', Array.from({ length: 7 }, (_, i) => ({ image: `img-${i}.png`, size: 256 })));

  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1 });
  await page.goto(`${stack.url}/console`);
  await page.getByLabel('Live updates').selectOption('2000');
  await page.getByLabel(/Project ID/).fill('demo');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByRole('button', { name: 'orders', exact: true }).click();

  // Orders arrive in bursts; a worker claims some and deletes most of what it claims.
  const started = Date.now();
  let n = 0;
  while (Date.now() - started < TRAFFIC_MS) {
    const elapsed = (Date.now() - started) / TRAFFIC_MS;
    const burst = elapsed < 0.6 ? 4 : 1;
    await client.postMessages('orders', Array.from({ length: burst }, () => ({ order: ++n, sku: `SKU-${100 + (n % 7)}`, qty: 1 + (n % 3) })));
    if (elapsed > 0.3) {
      const claim = await client.post('/v2/queues/orders/claims?limit=3', { body: { ttl: 300, grace: 60 } });
      if (claim.status === 201 && elapsed > 0.5) {
        for (const m of (claim.json.messages as { href: string }[]).slice(0, 2)) await client.delete(m.href);
      }
    }
    await sleep(1_000);
  }
  await page.getByLabel('Per page').selectOption('5');
  const claimButton = page.getByRole('button', { name: /^Inspect claim / }).first();
  await claimButton.click();
  await page.getByText('Expires in').waitFor();
  await page.evaluate('document.activeElement?.blur()');
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await stack.stop();
}
