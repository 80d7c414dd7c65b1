/**
 * The web console (GET /console): queues with live stats, a depth/flow chart, message browsing,
 * claim inspection, test posts, purge and queue create/delete, dead-letter policy and redrive. Plain DOM, no framework: the page
 * is static HTML (console/index.html) and this script fills it in. Every call goes through the
 * public API (./api.ts) with the credentials the user enters; nothing is stored but those, in
 * sessionStorage (gone when the tab closes).
 */
import { LIMITS } from '../../functions/core/limits.js';
import { Api, ApiError, claimIdOf, type Message, type QueueMetadata, type QueueStats, type Redrive } from './api.js';
import { renderChart } from './chart.js';
import { byId, h, setText } from './dom.js';
import { addSample, describeChart, formatAge, formatRate, netFlow, Pager, type Sample } from './series.js';

const STORAGE_KEY = 'cloud-queues-console';
/** Message bodies longer than this show in a disclosure, pretty-printed. */
const BODY_PREVIEW_CHARS = 120;
/** How often a running redrive's progress is read (faster than the live updates: it is being watched). */
const REDRIVE_POLL_MS = 1000;

// ------------------------------------------------------------------ identity and session

/** A random UUID v4 (crypto.randomUUID exists only in secure contexts; this works on plain http too). */
function uuid4(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

interface Session {
  clientId: string;
  project: string;
  token: string;
}

function loadSession(): Session {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<Session>;
    return { clientId: saved.clientId || uuid4(), project: saved.project ?? '', token: saved.token ?? '' };
  } catch {
    return { clientId: uuid4(), project: '', token: '' };
  }
}

const session = loadSession();
const saveSession = () => sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));

/** The API next to this page: `/console` → `/v2`, also under a custom domain's base path. */
const API_BASE = `${location.pathname.replace(/\/console\/?$/, '')}/v2`;

// ------------------------------------------------------------------ state

let api: Api | undefined;
const queuePager = new Pager();
let queueNames: string[] = [];
/** Stats and samples of every queue seen on a page, so switching queues keeps their history. */
const latest = new Map<string, QueueStats>();
const samples = new Map<string, Sample[]>();
let selected: string | undefined;
const messagePager = new Pager();

// ------------------------------------------------------------------ notices

const statusEl = byId('status');
const errorEl = byId('error');

/** Whether the error shown came from a live update (cleared by the next one that works). */
let errorFromRefresh = false;

function announce(text: string): void {
  errorEl.textContent = '';
  statusEl.textContent = text;
}

/** Shows an error once: a live update failing every few seconds must not re-announce it each time. */
function showError(err: unknown, fromRefresh = false): void {
  const text = err instanceof ApiError ? describeError(err) : err instanceof Error ? err.message : String(err);
  setText(errorEl, text);
  errorFromRefresh = fromRefresh;
}

function describeError(err: ApiError): string {
  if (err.status === 401) {
    return `${err.message} — check the bearer token (or the project ID in local mode).`;
  }
  return err.message;
}

/** Runs a user action: clears the last error, reports a failure instead of throwing. */
function action(fn: () => Promise<void>): () => void {
  return () => {
    errorEl.textContent = '';
    fn().catch(showError);
  };
}

const connected = (): Api => {
  if (!api) throw new Error('Connect first: enter a project ID (local mode) or a bearer token (deployment).');
  return api;
};

/**
 * For loads that may overlap (a filter changed while a page loads): each call takes a turn, and
 * only the latest turn may render, whatever order the answers arrive in.
 */
function turns(): () => () => boolean {
  let last = 0;
  return () => {
    const mine = ++last;
    return () => mine === last;
  };
}

// ------------------------------------------------------------------ buttons that page

/**
 * Paging buttons use aria-disabled, not disabled: a disabled button drops keyboard focus, and
 * "Next page" turning off on the last page would throw the user back to the top of the page.
 */
function setEnabled(button: HTMLButtonElement, enabled: boolean): void {
  button.setAttribute('aria-disabled', String(!enabled));
}

function onEnabledClick(button: HTMLButtonElement, fn: () => void): void {
  button.addEventListener('click', () => {
    if (button.getAttribute('aria-disabled') !== 'true') fn();
  });
}

/** Previous/next buttons that move `pager` and reload its page. */
function wirePager(previousId: string, nextId: string, pager: Pager, load: () => Promise<void>): void {
  onEnabledClick(byId(previousId), action(async () => {
    pager.back();
    await load();
  }));
  onEnabledClick(byId(nextId), action(async () => {
    pager.forward();
    await load();
  }));
}

// ------------------------------------------------------------------ queues and live stats

interface QueueRow {
  readonly row: HTMLTableRowElement;
  readonly button: HTMLButtonElement;
  readonly cells: readonly HTMLTableCellElement[];
}
const rows = new Map<string, QueueRow>();
const queueBody = byId<HTMLTableSectionElement>('queue-rows');

function queueRow(name: string): QueueRow {
  const button = h('button', { type: 'button' }, name);
  button.addEventListener('click', () => selectQueue(name));
  const cells = [0, 1, 2, 3, 4].map(() => h('td', { class: 'num' }));
  const row = h('tr', { 'data-queue': name }, h('th', { scope: 'row' }, button), ...cells);
  return { row, button, cells };
}

/**
 * Updates the table in place: rows are keyed by queue name and only changed text is written,
 * so a live update never takes keyboard focus away from a queue button.
 */
function renderQueues(): void {
  for (const [name, r] of rows) {
    if (!queueNames.includes(name)) {
      r.row.remove();
      rows.delete(name);
    }
  }
  queueNames.forEach((name, i) => {
    let r = rows.get(name);
    if (!r) rows.set(name, (r = queueRow(name)));
    if (queueBody.children[i] !== r.row) queueBody.insertBefore(r.row, queueBody.children[i] ?? null);
    const st = latest.get(name);
    const values = st ? [String(st.free), String(st.delayed), String(st.claimed), String(st.total), formatAge(st.oldest?.age)] : ['…', '…', '…', '…', '…'];
    values.forEach((v, j) => setText(r.cells[j] as HTMLTableCellElement, v));
    const isSelected = name === selected;
    r.row.classList.toggle('selected', isSelected);
    if (isSelected) r.button.setAttribute('aria-current', 'true');
    else r.button.removeAttribute('aria-current');
  });
  byId('queues-empty').hidden = queueNames.length > 0;
  setEnabled(byId('queues-prev'), queuePager.hasPrevious);
  setEnabled(byId('queues-next'), queuePager.next !== undefined);
  setText(byId('queues-page'), queuePager.index > 0 || queuePager.next ? `page ${queuePager.index + 1}` : '');
}

/** Lists the current page of queues and samples the stats of each (and of the selected queue). */
async function refreshOnce(): Promise<void> {
  const client = connected();
  let page = await client.listQueues(queuePager.current);
  if (page.items.length === 0 && queuePager.hasPrevious) {
    // The queues of this page were deleted meanwhile: start over.
    queuePager.first();
    page = await client.listQueues();
  }
  queuePager.next = page.next;
  queueNames = [...page.items];
  const names = selected && !queueNames.includes(selected) ? [...queueNames, selected] : queueNames;
  const results = await Promise.allSettled(names.map((name) => client.stats(name)));
  const t = Date.now();
  results.forEach((result, i) => {
    const name = names[i] as string;
    if (result.status === 'rejected') return;
    const st = result.value;
    latest.set(name, st);
    samples.set(name, addSample(samples.get(name) ?? [], { t, free: st.free, claimed: st.claimed, total: st.total }));
  });
  renderQueues();
  renderStats();
  if (selected) await loadDeadLetters();
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

let running: Promise<void> | undefined;
let again = false;
let timer: number | undefined;

/** Refreshes now; a refresh asked for while one runs makes it run once more (never two at once). */
function refreshNow(): Promise<void> {
  if (running) {
    again = true;
    return running;
  }
  window.clearTimeout(timer);
  running = (async () => {
    do {
      again = false;
      try {
        await refreshOnce();
        if (errorFromRefresh) errorEl.textContent = '';
        errorFromRefresh = false;
      } catch (err) {
        showError(err, true);
      }
    } while (again);
  })().finally(() => {
    running = undefined;
    schedule();
  });
  return running;
}

const intervalSelect = byId<HTMLSelectElement>('interval');

/** The next live update, unless paused, disconnected or the tab is hidden (no calls nobody sees). */
function schedule(): void {
  window.clearTimeout(timer);
  const ms = Number(intervalSelect.value);
  if (api && ms > 0 && !document.hidden) timer = window.setTimeout(() => void refreshNow(), ms);
}

// ------------------------------------------------------------------ the selected queue

function stat(label: string, value: string): HTMLElement {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}

function renderStats(): void {
  if (!selected) return;
  const st = latest.get(selected);
  const series = samples.get(selected) ?? [];
  const flows = netFlow(series);
  const flow = flows[flows.length - 1];
  const items: [string, string][] = st
    ? [
        ['Free', String(st.free)],
        ['Delayed', String(st.delayed)],
        ['Claimed', String(st.claimed)],
        ['Total', String(st.total)],
        ['Oldest', formatAge(st.oldest?.age)],
        ['Newest', formatAge(st.newest?.age)],
        ['Net flow', flow ? formatRate(flow.perSecond) : '—'],
      ]
    : [];
  const dl = byId('stats');
  // Rewritten only when a value changed (the dl holds no focusable element).
  const text = items.map(([k, v]) => `${k}:${v}`).join('|');
  if (dl.dataset.text !== text) {
    dl.dataset.text = text;
    dl.replaceChildren(...items.map(([k, v]) => stat(k, v)));
  }
  renderChart(byId<SVGGElement>('chart-plot'), series, Date.now());
  setText(byId('chart-desc'), describeChart(series));
}

function selectQueue(name: string): void {
  selected = name;
  byId('detail').hidden = false;
  setText(byId('detail-name'), name);
  byId('claim-result').replaceChildren();
  claimTurn(); // a claim of the previous queue still loading must not show here
  messagePager.first();
  renderQueues();
  renderStats();
  announce(`Queue ${name} selected.`);
  clearDeadLetters();
  void loadMessages().catch(showError);
  void (latest.has(name) ? loadDeadLetters() : refreshNow()).catch(showError);
}

function deselect(): void {
  selected = undefined;
  clearDeadLetters();
  byId('detail').hidden = true;
  renderQueues();
}

// ------------------------------------------------------------------ messages

const includeClaimed = byId<HTMLInputElement>('include-claimed');
const includeDelayed = byId<HTMLInputElement>('include-delayed');
const pageSize = byId<HTMLSelectElement>('page-size');

function bodyCell(body: unknown): HTMLElement {
  const text = JSON.stringify(body) ?? 'null';
  if (text.length <= BODY_PREVIEW_CHARS) return h('td', {}, h('code', {}, text));
  return h(
    'td',
    {},
    h('details', {}, h('summary', {}, h('code', {}, `${text.slice(0, BODY_PREVIEW_CHARS)}…`)), h('pre', {}, JSON.stringify(body, null, 2))),
  );
}

function claimCell(m: Message): HTMLElement {
  const claimId = claimIdOf(m);
  if (!claimId) return h('td', {}, '—');
  const button = h('button', { type: 'button', 'aria-label': `Inspect claim ${claimId}` }, `${claimId.slice(0, 8)}…`);
  button.addEventListener('click', action(async () => {
    byId<HTMLInputElement>('claim-id').value = claimId;
    await inspectClaim(claimId);
    byId('claim-result').focus();
  }));
  return h('td', {}, button);
}

function messageRow(m: Message): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-message': m.id },
    h('td', {}, h('code', {}, m.id)),
    h('td', { class: 'num' }, formatAge(m.age)),
    h('td', { class: 'num' }, formatAge(m.ttl)),
    claimCell(m),
    bodyCell(m.body),
  );
}

const messagesTurn = turns();

async function loadMessages(): Promise<void> {
  const queue = selected;
  if (!queue) return;
  const current = messagesTurn();
  const page = await connected().listMessages(queue, {
    limit: Number(pageSize.value),
    includeClaimed: includeClaimed.checked,
    includeDelayed: includeDelayed.checked,
    ...(messagePager.current !== undefined ? { marker: messagePager.current } : {}),
  });
  if (!current()) return; // a later load (another page, filter or queue) renders instead
  messagePager.next = page.next;
  byId('message-rows').replaceChildren(...page.items.map(messageRow));
  byId('messages-empty').hidden = page.items.length > 0;
  setEnabled(byId('msgs-first'), messagePager.hasPrevious);
  setEnabled(byId('msgs-prev'), messagePager.hasPrevious);
  setEnabled(byId('msgs-next'), messagePager.next !== undefined);
  setText(byId('msgs-page'), `page ${messagePager.index + 1}`);
}

// ------------------------------------------------------------------ claims

const claimTurn = turns();

async function inspectClaim(claimId: string): Promise<void> {
  const queue = selected;
  if (!queue) return;
  const out = byId('claim-result');
  const current = claimTurn();
  try {
    const claim = await connected().getClaim(queue, claimId);
    if (!current()) return;
    const remaining = claim.ttl - claim.age;
    out.replaceChildren(
      h(
        'dl',
        { 'aria-label': `Claim ${claimId}` },
        h('dt', {}, 'Claim ID'), h('dd', {}, h('code', {}, claimId)),
        h('dt', {}, 'Age'), h('dd', {}, formatAge(claim.age)),
        h('dt', {}, 'TTL'), h('dd', {}, formatAge(claim.ttl)),
        h('dt', {}, 'Expires in'), h('dd', {}, remaining > 0 ? formatAge(remaining) : 'expiring'),
        claim.grace !== undefined && h('dt', {}, 'Grace'), claim.grace !== undefined && h('dd', {}, formatAge(claim.grace)),
        h('dt', {}, 'Messages'), h('dd', {}, String(claim.messages.length)),
      ),
      h('ul', {}, ...claim.messages.map((m) => h('li', {}, h('code', {}, m.id), ' ', h('code', {}, JSON.stringify(m.body) ?? 'null')))),
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      if (current()) out.replaceChildren(h('p', {}, `No live claim ${claimId} on queue ${queue}: it expired, was released, or never existed.`));
      return;
    }
    throw err;
  }
}

// ------------------------------------------------------------------ dead-letter queues and redrive

/** The selected queue's dead-letter policy: Zaqar's reserved metadata keys (all set, or none). */
function policyOf(meta: QueueMetadata): { queue: string; maxClaims: number; ttl?: number } | undefined {
  const queue = meta._dead_letter_queue;
  const maxClaims = meta._max_claim_count;
  if (typeof queue !== 'string' || typeof maxClaims !== 'number') return undefined;
  const ttl = meta._dead_letter_queue_messages_ttl;
  return { queue, maxClaims, ...(typeof ttl === 'number' ? { ttl } : {}) };
}

/** What the panel last showed, so a live update rewrites it (and re-announces it) only on a change. */
let dlqText = '';
let redriveText = '';
/** The redrive of the selected queue while it runs (polled on its own, faster timer). */
let redrivePoll: number | undefined;
const dlqTurn = turns();

function clearDeadLetters(): void {
  dlqTurn(); // a load for the previous queue must not render here
  window.clearTimeout(redrivePoll);
  dlqText = redriveText = '';
  byId('dlq-policy').replaceChildren();
  byId('redrive-progress').replaceChildren();
  byId('redrive').hidden = true;
  byId('redrive-cancel').hidden = true;
}

function pair(label: string, value: Node | string): Node[] {
  return [h('dt', {}, label), h('dd', {}, value)];
}

/** Loads the selected queue's policy, its dead-letter queue's depth and its own redrive, and shows them. */
async function loadDeadLetters(): Promise<void> {
  const queue = selected;
  if (!queue) return;
  const current = dlqTurn();
  const client = connected();
  const [meta, redrive] = await Promise.all([client.metadata(queue), client.getRedrive(queue)]);
  const policy = policyOf(meta);
  const depth = policy ? await client.stats(policy.queue) : undefined;
  if (!current()) return;
  renderPolicy(queue, policy, depth);
  const st = latest.get(queue);
  // A dead-letter queue is any queue with messages to move back (or a redrive to watch).
  byId('redrive').hidden = !redrive && !(st && st.total > 0);
  renderRedrive(queue, redrive);
}

function renderPolicy(queue: string, policy: ReturnType<typeof policyOf>, depth: QueueStats | undefined): void {
  const text = JSON.stringify([queue, policy, depth && [depth.free, depth.claimed, depth.total]]);
  if (text === dlqText) return;
  dlqText = text;
  const out = byId('dlq-policy');
  if (!policy || !depth) {
    out.replaceChildren(h('p', {}, `No dead-letter policy: messages of ${queue} are delivered by claims without limit. ` +
      'Set _max_claim_count and _dead_letter_queue in its metadata to move a message after that many claims.'));
    return;
  }
  const show = h('button', { type: 'button', 'aria-label': `Select dead-letter queue ${policy.queue}` }, policy.queue);
  show.addEventListener('click', () => {
    selectQueue(policy.queue);
    byId('detail-h').focus(); // the button is gone with the panel it was in
  });
  out.replaceChildren(
    h(
      'dl',
      { class: 'pairs', 'aria-label': `Dead-letter policy of ${queue}` },
      ...pair('Dead-letter queue', show),
      ...pair('Claims before moving', String(policy.maxClaims)),
      ...pair('TTL once moved', policy.ttl !== undefined ? formatAge(policy.ttl) : 'unchanged'),
      ...pair('Dead-lettered messages', `${depth.total} (${depth.free} free, ${depth.claimed} claimed)`),
    ),
  );
}

function renderRedrive(queue: string, r: Redrive | undefined): void {
  const cancel = byId('redrive-cancel');
  cancel.hidden = r?.status !== 'running';
  window.clearTimeout(redrivePoll);
  if (r?.status === 'running') redrivePoll = window.setTimeout(() => void pollRedrive(queue), REDRIVE_POLL_MS);
  const text = JSON.stringify(r && [r.status, r.moved, r.skipped, r.destination, r.max_messages_per_second]);
  if (text === redriveText) return;
  redriveText = text;
  const out = byId('redrive-progress');
  if (!r) {
    out.replaceChildren();
    return;
  }
  out.replaceChildren(
    h(
      'dl',
      { class: 'pairs', 'aria-label': `Redrive of ${queue}` },
      ...pair('Redrive', r.status),
      ...pair('Moved', String(r.moved)),
      ...pair('Skipped', String(r.skipped)),
      ...pair('To', r.destination ?? 'each message\u2019s source'),
      ...pair('Rate', `${r.max_messages_per_second}/s at most`),
    ),
  );
}

/** Reads a running redrive's progress; when it ends, the counts of every queue are refreshed. */
async function pollRedrive(queue: string): Promise<void> {
  if (queue !== selected) return;
  const current = dlqTurn();
  try {
    const r = await connected().getRedrive(queue);
    if (!current()) return;
    renderRedrive(queue, r);
    if (r?.status !== 'running') {
      announce(`Redrive of ${queue} ${r?.status ?? 'ended'}: ${r?.moved ?? 0} moved, ${r?.skipped ?? 0} skipped.`);
      await Promise.all([refreshNow(), loadMessages()]);
    }
  } catch (err) {
    showError(err, true);
  }
}

async function startRedrive(): Promise<void> {
  const queue = selected;
  if (!queue) return;
  const destination = byId<HTMLInputElement>('redrive-destination').value.trim();
  const rate = numberOrUndefined(byId('redrive-rate'));
  const r = await connected().startRedrive(queue, {
    ...(destination ? { destination } : {}),
    ...(rate !== undefined ? { max_messages_per_second: rate } : {}),
  });
  if (queue !== selected) return;
  dlqTurn(); // a load that began before the start must not show the previous redrive
  renderRedrive(queue, r);
  announce(`Redrive of ${queue} started.`);
  if (r.status !== 'running') await pollRedrive(queue);
}

async function cancelRedrive(): Promise<void> {
  const queue = selected;
  if (!queue) return;
  await connected().cancelRedrive(queue);
  await pollRedrive(queue);
}

// ------------------------------------------------------------------ confirmation dialog

interface Confirmation {
  readonly title: string;
  readonly text: string;
  readonly confirmLabel: string;
  /** When set, the user must type exactly this before confirming. */
  readonly typed?: string;
}

/** A modal confirmation (native <dialog>: focus stays inside, Escape cancels). Resolves true on confirm. */
function confirmAction(c: Confirmation): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  const ok = byId<HTMLButtonElement>('confirm-ok');
  const typedLabel = byId('confirm-typed-label');
  const typed = byId<HTMLInputElement>('confirm-typed');
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
  setText(byId('confirm-title'), c.title);
  setText(byId('confirm-text'), c.text);
  ok.textContent = c.confirmLabel;
  typedLabel.hidden = c.typed === undefined;
  typed.value = '';
  ok.disabled = c.typed !== undefined;
  const onInput = () => {
    ok.disabled = typed.value !== c.typed;
  };
  // Enter in the text field confirms (the form's default button is Cancel, the safe one).
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    if (!ok.disabled) dialog.close('ok');
  };
  typed.addEventListener('input', onInput);
  typed.addEventListener('keydown', onKey);
  dialog.returnValue = '';
  dialog.showModal();
  (c.typed !== undefined ? typed : byId('confirm-cancel')).focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        typed.removeEventListener('input', onInput);
        typed.removeEventListener('keydown', onKey);
        if (opener?.isConnected) opener.focus();
        resolve(dialog.returnValue === 'ok');
      },
      { once: true },
    );
  });
}

// ------------------------------------------------------------------ wiring

function numberOrUndefined(input: HTMLInputElement): number | undefined {
  return input.value.trim() === '' ? undefined : Number(input.value);
}

function init(): void {
  setText(byId('client-id'), session.clientId);
  setText(byId('api-base'), API_BASE);
  const project = byId<HTMLInputElement>('project');
  const token = byId<HTMLInputElement>('token');
  project.value = session.project;
  token.value = session.token;
  // Limits come from the same module the server validates with.
  const newQueue = byId<HTMLInputElement>('new-queue');
  newQueue.maxLength = LIMITS.QUEUE_NAME_MAX;
  Object.assign(byId<HTMLInputElement>('post-ttl'), { min: String(LIMITS.MESSAGE_TTL_MIN), max: String(LIMITS.MESSAGE_TTL_MAX) });
  Object.assign(byId<HTMLInputElement>('post-delay'), { min: String(LIMITS.MESSAGE_DELAY_MIN), max: String(LIMITS.MESSAGE_DELAY_MAX) });

  byId<HTMLFormElement>('connect').addEventListener('submit', (e) => {
    e.preventDefault();
    session.project = project.value.trim();
    session.token = token.value.trim();
    saveSession();
    connect();
  });

  intervalSelect.addEventListener('change', () => {
    announce(intervalSelect.value === '0' ? 'Live updates paused.' : `Live updates ${intervalSelect.selectedOptions[0]?.text ?? ''}.`);
    schedule();
  });
  byId('refresh').addEventListener('click', action(() => refreshNow()));
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) window.clearTimeout(timer);
    else if (api) void refreshNow();
  });

  wirePager('queues-prev', 'queues-next', queuePager, refreshNow);

  byId<HTMLFormElement>('create-queue').addEventListener('submit', (e) => {
    e.preventDefault();
    action(async () => {
      const name = newQueue.value.trim();
      const created = await connected().createQueue(name);
      newQueue.value = '';
      announce(created ? `Queue ${name} created.` : `Queue ${name} already exists.`);
      selectQueue(name);
      await refreshNow();
    })();
  });

  byId('purge').addEventListener('click', action(async () => {
    const queue = selected;
    if (!queue) return;
    const ok = await confirmAction({
      title: `Purge queue ${queue}?`,
      text: `Every message of ${queue} is deleted, claimed or not. This cannot be undone.`,
      confirmLabel: 'Purge messages',
    });
    if (!ok) return announce('Purge cancelled.');
    await connected().purge(queue);
    announce(`Queue ${queue} purged.`);
    messagePager.first();
    await Promise.all([refreshNow(), loadMessages()]);
  }));

  byId('delete-queue').addEventListener('click', action(async () => {
    const queue = selected;
    if (!queue) return;
    const ok = await confirmAction({
      title: `Delete queue ${queue}?`,
      text: `The queue, its messages and its claims are deleted. This cannot be undone.`,
      confirmLabel: 'Delete queue',
      typed: queue,
    });
    if (!ok) return announce('Delete cancelled.');
    await connected().deleteQueue(queue);
    deselect();
    samples.delete(queue);
    latest.delete(queue);
    announce(`Queue ${queue} deleted.`);
    byId('queues-h').focus();
    await refreshNow();
  }));

  byId<HTMLFormElement>('post').addEventListener('submit', (e) => {
    e.preventDefault();
    action(async () => {
      const queue = selected;
      if (!queue) return;
      const bodyInput = byId<HTMLTextAreaElement>('post-body');
      let body: unknown;
      try {
        body = JSON.parse(bodyInput.value);
        bodyInput.removeAttribute('aria-invalid');
      } catch {
        bodyInput.setAttribute('aria-invalid', 'true');
        bodyInput.focus();
        throw new Error('The body must be JSON, e.g. {"hello": "world"} or "text".');
      }
      const ttl = numberOrUndefined(byId('post-ttl'));
      const delay = numberOrUndefined(byId('post-delay'));
      const id = await connected().postMessage(queue, {
        body,
        ...(ttl !== undefined ? { ttl } : {}),
        ...(delay !== undefined ? { delay } : {}),
      });
      announce(`Message ${id} posted to ${queue}.`);
      await Promise.all([refreshNow(), loadMessages()]);
    })();
  });

  const reloadMessages = action(() => loadMessages());
  const restartMessages = action(async () => {
    messagePager.first();
    await loadMessages();
  });
  byId('messages-reload').addEventListener('click', reloadMessages);
  for (const input of [includeClaimed, includeDelayed, pageSize]) input.addEventListener('change', restartMessages);
  onEnabledClick(byId('msgs-first'), restartMessages);
  wirePager('msgs-prev', 'msgs-next', messagePager, loadMessages);

  byId<HTMLFormElement>('claim-form').addEventListener('submit', (e) => {
    e.preventDefault();
    action(() => inspectClaim(byId<HTMLInputElement>('claim-id').value.trim()))();
  });

  const rateInput = byId<HTMLInputElement>('redrive-rate');
  Object.assign(rateInput, { min: String(LIMITS.REDRIVE_RATE_MIN), max: String(LIMITS.REDRIVE_RATE_MAX), placeholder: String(LIMITS.REDRIVE_RATE_DEFAULT) });
  byId<HTMLInputElement>('redrive-destination').maxLength = LIMITS.QUEUE_NAME_MAX;
  byId<HTMLFormElement>('redrive-form').addEventListener('submit', (e) => {
    e.preventDefault();
    action(startRedrive)();
  });
  byId('redrive-cancel').addEventListener('click', action(cancelRedrive));

  if (session.project || session.token) connect();
  else announce('Enter a project ID (local mode) or a bearer token (deployment), then Connect.');
}

function connect(): void {
  api = new Api(API_BASE, session);
  queuePager.first();
  latest.clear();
  samples.clear();
  deselect();
  announce(session.token ? 'Connected with a bearer token.' : `Connected as project ${session.project}.`);
  void refreshNow();
}

init();
