/**
 * The web console in a real browser: headless Chromium (Debian's package, driven by
 * playwright-core) against the real local server over DynamoDB Local. Each test uses its own
 * project, so the console sees only that test's queues; a second, plain HTTP client plays the
 * producers and workers the console watches.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { Client } from '../support/http.js';
import { newQueueName, startTestStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let browser: Browser;
beforeAll(async () => {
  [stack, browser] = await Promise.all([startTestStack(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Script errors and console errors (CSP violations among them) of the pages a test opened. */
let problems: string[] = [];
const pages: Page[] = [];
afterEach(async () => {
  const seen = problems;
  problems = [];
  await Promise.all(pages.splice(0).map((p) => p.context().close()));
  expect(seen).toEqual([]);
});

/** Waits until `check` holds (the console updates on its own timer); fails with `what` if it never does. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const textOf = async (locator: Locator): Promise<string> => ((await locator.textContent()) ?? '').trim();

/** The console in a new browser context (fresh sessionStorage), not connected yet. */
async function newConsolePage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  pages.push(page);
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  const response = await page.goto(`${stack.url}/console`);
  expect(response?.status()).toBe(200);
  return page;
}

/** The console connected to `client`'s project, live updates every 2 s. */
async function openConsole(client: Client): Promise<Page> {
  const page = await newConsolePage();
  await page.getByLabel('Live updates').selectOption('2000');
  await page.getByLabel(/Project ID/).fill(client.project);
  await page.getByRole('button', { name: 'Connect' }).click();
  return page;
}

/** The Free, Delayed, Claimed, Total and Oldest cells of a queue's row. */
function queueCells(page: Page, queue: string) {
  const cells = page.locator(`#queue-rows tr[data-queue="${queue}"] td`);
  return { free: cells.nth(0), delayed: cells.nth(1), claimed: cells.nth(2), total: cells.nth(3), oldest: cells.nth(4) };
}

/** The bodies of the listed messages, read in one go (the table may be re-rendered meanwhile). */
const messageBodies = async (page: Page): Promise<unknown[]> =>
  (await page.locator('#message-rows tr td:last-child code').allTextContents()).map((text) => JSON.parse(text));

async function selectQueue(page: Page, queue: string): Promise<void> {
  await page.getByRole('button', { name: queue, exact: true }).click();
  await page.getByRole('heading', { name: `Queue ${queue}` }).waitFor();
}

const activeElementId = (page: Page): Promise<string> => page.evaluate('document.activeElement?.id ?? ""');

describe('console page', () => {
  it('is served by the API with a strict CSP, and every form control has a label', async () => {
    const page = await openConsole(new Client(stack.url));
    const unlabelled = await page.evaluate(
      `[...document.querySelectorAll('input, select, textarea')].filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id)`,
    );
    expect(unlabelled).toEqual([]);
    // The inline script runs (allowed by hash) while an injected one would not.
    await page.evaluate(`(() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.append(s); })()`);
    expect(await page.evaluate('window.injected')).toBeUndefined();
    problems = problems.filter((p) => !/Content Security Policy/.test(p)); // that refusal is the point
    expect(await textOf(page.locator('#client-id'))).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('queues, live', () => {
  it('lists the queues with free/delayed/claimed/total and oldest age, and updates after a post', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    await client.postMessages(q, [{ n: 1 }, { n: 2 }]);
    const page = await openConsole(client);
    const cells = queueCells(page, q);
    await until('the queue shows 2 free', async () => (await textOf(cells.free)) === '2');
    expect(await textOf(cells.total)).toBe('2');
    expect(await textOf(cells.oldest)).toMatch(/^\d+s$/);

    // Another client posts and claims: the console catches up on its own (no click).
    await client.postMessages(q, [{ n: 3 }, { n: 4 }, { n: 5 }]);
    await client.post(`/v2/queues/${q}/claims?limit=2`, { body: { ttl: 300, grace: 60 } });
    await until('the post and the claim show', async () => (await textOf(cells.total)) === '5' && (await textOf(cells.claimed)) === '2');
    expect(await textOf(cells.free)).toBe('3');
    expect(await textOf(cells.delayed)).toBe('0');

    // A delayed message is counted apart from the free ones (claimable now) until its delay ends.
    expect((await client.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: { n: 6 }, delay: 600 }] } })).status).toBe(201);
    await until('the delayed message shows', async () => (await textOf(cells.delayed)) === '1' && (await textOf(cells.total)) === '6');
    expect(await textOf(cells.free)).toBe('3');

    // A queue created elsewhere appears too.
    const other = newQueueName();
    await client.put(`/v2/queues/${other}`);
    await until('the new queue is listed', async () => (await page.locator(`#queue-rows tr[data-queue="${other}"]`).count()) === 1);
  });

  it('creates and deletes a queue; deleting asks for the queue name', async () => {
    const client = new Client(stack.url);
    const page = await openConsole(client);
    const q = newQueueName();
    await page.getByLabel('New queue name').fill(q);
    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.getByRole('heading', { name: `Queue ${q}` }).waitFor();
    expect((await client.get('/v2/queues')).json.queues.map((x: { name: string }) => x.name)).toEqual([q]);

    await page.getByRole('button', { name: 'Delete queue…' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete queue ${q}?` });
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete queue' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type the queue name to confirm').fill(q.slice(0, -1));
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type the queue name to confirm').fill(q);
    await confirm.click();
    await until('the queue leaves the list', async () => (await page.locator(`#queue-rows tr[data-queue="${q}"]`).count()) === 0);
    expect((await client.get('/v2/queues')).json.queues).toEqual([]);
    expect(await page.locator('#detail').isHidden()).toBe(true);
  });
});

describe('messages', () => {
  it('posts a test message from the console, and refuses a body that is not JSON', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    const page = await openConsole(client);
    await selectQueue(page, q);

    const body = page.getByLabel('Body (JSON)');
    await body.fill('{"n": ');
    await page.getByRole('button', { name: 'Post message' }).click();
    await until('the JSON error shows', async () => /must be JSON/.test(await textOf(page.getByRole('alert'))));
    expect(await body.getAttribute('aria-invalid')).toBe('true');

    await body.fill('{"n": 42, "tag": "from the console"}');
    await page.getByLabel('TTL (s)').fill('120');
    await page.getByRole('button', { name: 'Post message' }).click();
    await until('the post is announced', async () => /^Message \S+ posted/.test(await textOf(page.getByRole('status'))));
    await until('the message is listed', async () => (await messageBodies(page)).length === 1);
    expect(await messageBodies(page)).toEqual([{ n: 42, tag: 'from the console' }]);
    await until('the row counts it', async () => (await textOf(queueCells(page, q).total)) === '1');

    const listed = (await client.get(`/v2/queues/${q}/messages?echo=true`)).json.messages;
    expect(listed).toMatchObject([{ body: { n: 42, tag: 'from the console' }, ttl: 120 }]);
  });

  it('pages through messages by marker, forward and back, with the claimed/delayed toggles', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.postMessages(q, Array.from({ length: 12 }, (_, i) => ({ i })));
    await client.put(`/v2/queues/${q}`);
    const page = await openConsole(client);
    await selectQueue(page, q);
    await page.getByLabel('Per page').selectOption('5');
    const is = async () => (await messageBodies(page)).map((b) => (b as { i: number }).i);
    const showing = (want: number[]) => until(`the page shows ${want.join(',')}`, async () => JSON.stringify(await is()) === JSON.stringify(want));
    const next = page.getByRole('button', { name: 'Next page' });

    await showing([0, 1, 2, 3, 4]);
    await next.click();
    await showing([5, 6, 7, 8, 9]);
    await next.click();
    await showing([10, 11]);
    expect(await next.getAttribute('aria-disabled')).toBe('true');
    await next.press('Enter'); // the last page stays put (Playwright will not click an aria-disabled button)
    await showing([10, 11]);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await showing([5, 6, 7, 8, 9]);
    await page.getByRole('button', { name: 'First page' }).click();
    await showing([0, 1, 2, 3, 4]);

    // Claimed and delayed messages are listed only with their toggle on.
    await client.post(`/v2/queues/${q}/claims?limit=2`, { body: { ttl: 300, grace: 60 } });
    await client.post(`/v2/queues/${q}/messages`, { body: { messages: [{ body: { i: 99 }, delay: 900 }] } });
    await page.getByLabel('Per page').selectOption('20');
    await showing([...Array.from({ length: 12 }, (_, i) => i), 99]);
    await page.getByLabel('Include claimed').uncheck();
    await showing([...Array.from({ length: 10 }, (_, i) => i + 2), 99]);
    await page.getByLabel('Include delayed').uncheck();
    await showing(Array.from({ length: 10 }, (_, i) => i + 2));
  });

  it('inspects a claim from its message, or by id', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    await client.postMessages(q, [{ job: 'a' }, { job: 'b' }, { job: 'c' }]);
    const claim = await client.post(`/v2/queues/${q}/claims?limit=2`, { body: { ttl: 600, grace: 60 } });
    const claimId = (claim.headers.get('location') as string).split('/').pop() as string;
    const page = await openConsole(client);
    await selectQueue(page, q);

    const inspect = page.getByRole('button', { name: `Inspect claim ${claimId}` });
    await until('both claimed messages offer their claim', async () => (await inspect.count()) === 2);
    await inspect.first().click();
    const result = page.locator('#claim-result');
    await until('the claim is shown', async () => (await textOf(result)).includes('Expires in'));
    const details = await textOf(result);
    expect(details).toContain(claimId);
    expect(details).toMatch(/TTL\s*10m 00s/);
    expect(details).toMatch(/Messages\s*2/);
    expect(details).toContain('{"job":"a"}');
    expect(await activeElementId(page)).toBe('claim-result');

    await page.getByLabel('Claim ID').fill(randomUUID());
    await page.getByRole('button', { name: 'Inspect claim', exact: true }).click();
    await until('an unknown claim is reported', async () => /No live claim/.test(await textOf(result)));
  });

  it('purges only after confirmation', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    await client.postMessages(q, [1, 2, 3]);
    const page = await openConsole(client);
    await selectQueue(page, q);
    const stats = async () => (await client.get(`/v2/queues/${q}/stats`)).json.messages.total;

    await page.getByRole('button', { name: 'Purge messages…' }).click();
    const dialog = page.getByRole('dialog', { name: `Purge queue ${q}?` });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await until('the cancel is announced', async () => (await textOf(page.getByRole('status'))) === 'Purge cancelled.');
    expect(await stats()).toBe(3);

    await page.getByRole('button', { name: 'Purge messages…' }).click();
    await dialog.getByRole('button', { name: 'Purge messages' }).click();
    await until('the purge is announced', async () => (await textOf(page.getByRole('status'))) === `Queue ${q} purged.`);
    expect(await stats()).toBe(0);
    await until('the row shows it', async () => (await textOf(queueCells(page, q).total)) === '0');
    expect(await page.locator('#messages-empty').isVisible()).toBe(true);
  });
});

describe('keyboard', () => {
  it('works without a mouse: connect, select, page, purge; focus is visible and survives live updates', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    await client.put(`/v2/queues/${q}`);
    await client.postMessages(q, Array.from({ length: 6 }, (_, i) => ({ i })));
    const page = await newConsolePage();
    const kb = page.keyboard;

    // The first Tab reaches the skip link, the next ones the connection form.
    await kb.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await kb.press('Tab');
    expect(await activeElementId(page)).toBe('project');
    expect(await page.evaluate(`document.activeElement.matches(':focus-visible')`)).toBe(true);
    expect(await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle`)).not.toBe('none');
    await kb.type(client.project);
    await kb.press('Enter');

    // Select the queue with Enter, then reach the messages with Tab alone.
    const queueButton = page.getByRole('button', { name: q, exact: true });
    await queueButton.waitFor();
    await queueButton.focus();
    await kb.press('Enter');
    await page.getByRole('heading', { name: `Queue ${q}` }).waitFor();
    expect(await queueButton.getAttribute('aria-current')).toBe('true');

    // A live update rewrites the counts but keeps focus on the queue button.
    await client.postMessages(q, [{ i: 6 }]);
    await until('the update lands', async () => (await textOf(queueCells(page, q).total)) === '7');
    expect(await page.evaluate('document.activeElement.getAttribute("aria-current")')).toBe('true');

    // Paging with the keyboard: focus stays on "Next page" when it turns off on the last page.
    await page.getByLabel('Per page').focus();
    await kb.press('Home'); // the first option: 5 per page
    const next = page.getByRole('button', { name: 'Next page' });
    await until('5 messages per page', async () => (await page.locator('#message-rows tr').count()) === 5);
    await next.focus();
    await kb.press('Enter');
    await until('the second page', async () => (await page.locator('#message-rows tr').count()) === 2);
    expect(await next.getAttribute('aria-disabled')).toBe('true');
    expect(await activeElementId(page)).toBe('msgs-next');

    // Purge: Escape cancels and gives focus back; Tab reaches the confirm button.
    const purge = page.getByRole('button', { name: 'Purge messages…' });
    await purge.focus();
    await kb.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await activeElementId(page)).toBe('confirm-cancel');
    await kb.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await activeElementId(page)).toBe('purge');
    await kb.press('Enter');
    await page.getByRole('dialog').waitFor();
    await kb.press('Tab');
    expect(await activeElementId(page)).toBe('confirm-ok');
    await kb.press('Enter');
    await until('the purge is announced', async () => (await textOf(page.getByRole('status'))) === `Queue ${q} purged.`);
    expect((await client.get(`/v2/queues/${q}/stats`)).json.messages.total).toBe(0);
  });
});

describe('dead-letter queues', () => {
  it('shows the policy and the dead-letter depth, and redrives a dead-lettered message back from the console', async () => {
    const client = new Client(stack.url);
    const q = newQueueName();
    const dlq = `${q}-dlq`;
    expect((await client.put(`/v2/queues/${q}`, { body: { _max_claim_count: 1, _dead_letter_queue: dlq } })).status).toBe(201);
    await client.put(`/v2/queues/${dlq}`);
    await client.postMessages(q, [{ job: 'poison' }]);
    // The first claim delivers it; released, the next claim moves it instead of delivering it again.
    const first = await client.post(`/v2/queues/${q}/claims?limit=5`, { body: { ttl: 60, grace: 60 } });
    expect(first.status).toBe(201);
    await client.delete(first.headers.get('location') as string);
    expect((await client.post(`/v2/queues/${q}/claims?limit=5`, { body: { ttl: 60, grace: 60 } })).status).toBe(204);

    const page = await openConsole(client);
    await selectQueue(page, q);
    const dl = page.locator('#dlq-policy');
    await until('the policy shows', async () => /Claims before moving\s*1/.test(await textOf(dl)));
    expect(await textOf(dl)).toMatch(/Dead-lettered messages\s*1 \(1 free, 0 claimed\)/);
    expect(await textOf(dl)).toMatch(/TTL once moved\s*unchanged/);
    expect(await page.locator('#redrive').isHidden()).toBe(true); // nothing to move back from q

    await page.getByRole('button', { name: `Select dead-letter queue ${dlq}` }).click();
    await page.getByRole('heading', { name: `Queue ${dlq}` }).waitFor();
    expect(await activeElementId(page)).toBe('detail-h');
    await until('the dead-letter queue offers a redrive', async () => page.locator('#redrive').isVisible());
    expect(await textOf(page.locator('#dlq-policy'))).toMatch(/No dead-letter policy/);
    await page.getByLabel(/Rate \(messages\/s\)/).fill('10');
    await page.getByRole('button', { name: 'Redrive', exact: true }).click();

    const progress = page.locator('#redrive-progress');
    await until('the redrive completes', async () => /Redrive\s*completed/.test(await textOf(progress)));
    expect(await textOf(progress)).toMatch(/Moved\s*1/);
    expect(await textOf(progress)).toMatch(/Skipped\s*0/);
    expect(await textOf(progress)).toMatch(/Rate\s*10\/s at most/);
    expect(await page.getByRole('button', { name: 'Cancel redrive' }).isHidden()).toBe(true);
    await until('the source queue counts it again', async () => (await textOf(queueCells(page, q).free)) === '1');
    await until('the dead-letter queue is empty', async () => (await textOf(queueCells(page, dlq).total)) === '0');
    expect((await client.get(`/v2/queues/${q}/messages?echo=true`)).json.messages).toMatchObject([{ body: { job: 'poison' } }]);
  });
});
