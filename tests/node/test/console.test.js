// The debug console in a real headless browser (Debian's chromium, driven by
// playwright-core): sign in with the token, see a pusher-js client's connection and
// channels appear, a presence channel's members, an event published with the `pusher`
// SDK in the live stream, publish from the form and see pusher-js receive it. The page
// logs no error and asks nothing of any host but the server's. A screenshot is written
// to tests/node/out/console.png (README's picture is a copy of it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { pjs, rest } from '../lib/clients.js';
import { uid, deferred, withTimeout } from '../lib/util.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (scripts/test.sh installs Debian's chromium)`;
const TOKEN = 'console-token-for-the-test';
const APP = app();
const OUT = fileURLToPath(new URL('../out/', import.meta.url));

let server;
let node;
let browser;

before(async () => {
  if (skip) return;
  server = await startServer({ apps: [APP], console: { enabled: true, token: TOKEN } });
  // The console shows one node; the clients it should see connect to that node.
  node = server.pick();
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

function subscribed(client, name) {
  const d = deferred();
  const ch = client.pusher.subscribe(name);
  ch.bind('pusher:subscription_succeeded', () => d.resolve(ch));
  ch.bind('pusher:subscription_error', (e) => d.reject(new Error(JSON.stringify(e))));
  return withTimeout(d.promise, 5000, `${client.name} subscribed to ${name}`);
}

test('the API refuses a wrong token, the page is CSP-locked', { timeout: 15000, skip }, async () => {
  const api = `${node.baseUrl}/console/api/overview`;
  assert.equal((await fetch(api)).status, 401);
  assert.equal((await fetch(api, { headers: { authorization: 'Bearer wrong-token-123' } })).status, 401);
  assert.equal((await fetch(api, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  const page = await fetch(`${node.baseUrl}/console`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'.*connect-src 'self'/);
  assert.equal(page.headers.get('cache-control'), 'no-store');
});

test('the console in chromium: sign in, watch a pusher-js client, publish from the form', { timeout: 60000, skip }, async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const problems = [];
  const hosts = new Set();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => hosts.add(new URL(r.url()).host));
  page.setDefaultTimeout(10000);

  await page.goto(`${node.baseUrl}/console`);
  await page.fill('#token', 'not-the-token');
  await page.click('#login button');
  await page.waitForSelector('#login-error:not([hidden])');
  assert.match(await page.textContent('#login-error'), /wrong console token/);
  // Chromium logs the refused request itself; that one is expected, nothing else.
  assert.deepEqual(problems, ['console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  problems.length = 0;
  await page.fill('#token', TOKEN);
  await page.click('#login button');
  await page.waitForSelector('#console:not([hidden])');
  await page.waitForSelector('#login', { state: 'hidden' });

  const client = pjs(t, node, APP, { user: { id: '42', info: { name: 'Ada' } }, name: 'viewer' });
  const feed = uid('project.');
  const presence = uid('presence-project.');
  await subscribed(client, feed);
  await subscribed(client, presence);
  await page.waitForSelector(`#channels tr[data-channel="${feed}"]`);
  await page.waitForFunction(() => document.getElementById('connections').textContent === '1');

  await page.click(`#channels tr[data-channel="${presence}"]`);
  await page.waitForFunction(() => document.getElementById('member-list').textContent.includes('Ada'));

  // "What did auth return?": a subscription refused for a bad signature shows, with why.
  const secret = uid('private-client.');
  const forged = pjs(t, node, APP, { badAuthFor: (name) => name === secret, name: 'forged' });
  const refused = deferred();
  forged.pusher.subscribe(secret).bind('pusher:subscription_error', refused.resolve);
  await withTimeout(refused.promise, 5000, 'the forged subscription refused');
  const refusal = page.locator('#events tr.kind-refused', { hasText: secret });
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /pusher:subscription_error.*[Ii]nvalid signature/);
  forged.disconnect();

  await rest(node, APP).trigger(feed, 'InvoicePaid', { invoice: 7 });
  const row = page.locator('#events tr', { hasText: 'InvoicePaid' });
  await row.waitFor();
  const rowText = await row.textContent();
  assert.match(rowText, new RegExp(feed.replace('.', '\\.')));
  assert.match(rowText, /"invoice":7/);
  assert.match(rowText, /to 1 connection here/);
  // Lifecycle: the client's member_added on the presence channel.
  await page.locator('#events tr', { hasText: 'member_added' }).first().waitFor();

  await page.fill('#pub-channel', feed);
  await page.fill('#pub-event', 'FromConsole');
  await page.fill('#pub-data', '{"hello":"from the console"}');
  await page.click('#publish button');
  const got = await client.messages.waitFor((m) => m.event === 'FromConsole', 5000, 'the form\'s event at pusher-js');
  assert.deepEqual(got.data, { hello: 'from the console' });
  await page.locator('#events tr', { hasText: 'FromConsole' }).waitFor();

  // The delivery log shows what was published and how many it reached; the online
  // users, who is here (the presence member, with their user_info).
  const delivered = page.locator('#deliveries tr', { hasText: 'InvoicePaid' });
  await delivered.waitFor();
  assert.equal(await delivered.locator('td.delivered').textContent(), '1');
  await page.locator('#deliveries tr', { hasText: 'FromConsole' }).waitFor();
  await page.locator('#online tr', { hasText: 'Ada' }).waitFor();

  // The filter hides other channels' rows.
  await page.fill('#filter', presence);
  assert.equal(await page.locator('#events tr:not([hidden])', { hasText: 'InvoicePaid' }).count(), 0);
  await page.fill('#filter', '');

  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: `${OUT}console.png`, fullPage: true });
  assert.deepEqual(problems, []);
  assert.deepEqual([...hosts], [new URL(node.baseUrl).host], 'the page asked only the server');
});
