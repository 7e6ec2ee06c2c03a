// The npm package's recovery module in a real browser (Debian's chromium, driven by
// playwright-core), as a page loads it: an ES module imported straight from the
// package (no bundler, no Node APIs), on a bare pusher-js `Pusher` from its web build.
// The page's connection is cut (a TCP proxy between it and pushbus) while events are
// published; when pusher-js reconnects, the page has every event, in order, once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { rest } from '../lib/clients.js';
import { cuttableProxy } from '../lib/cuttable.js';
import { uid } from '../lib/util.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (scripts/test.sh installs Debian's chromium)`;
const APP = app({ history: [{ channels: 'feed.*', events: 100, ttl: 120 }] });
const PUSHER_JS = fileURLToPath(new URL('../node_modules/pusher-js/dist/web/pusher.js', import.meta.url));
const RECOVERY = fileURLToPath(new URL('../../../npm/recovery.mjs', import.meta.url));

let server;
let browser;

before(async () => {
  if (skip) return;
  server = await startServer({ apps: [APP] });
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

/** Serves the page, pusher-js's web build and the module, as a site would. */
async function site(t, wsPort, channel) {
  const page = `<!doctype html><meta charset="utf-8"><title>recovery</title>
<script src="/pusher.js"></script>
<script type="module">
  import { enableRecovery } from '/recovery.mjs';
  window.got = [];
  window.gaps = [];
  const pusher = new Pusher(${JSON.stringify(APP.key)}, {
    cluster: '', wsHost: '127.0.0.1', wsPort: ${wsPort}, forceTLS: false,
    enabledTransports: ['ws'], disableStats: true,
  });
  window.pusher = pusher;
  enableRecovery(pusher, { onGap: (c) => window.gaps.push(c) });
  pusher.subscribe(${JSON.stringify(channel)})
    .bind('pusher:subscription_succeeded', () => { window.subscribed = true; })
    .bind('tick', (e) => window.got.push(e.n));
</script>`;
  const files = {
    '/': ['text/html', page],
    '/pusher.js': ['text/javascript', readFileSync(PUSHER_JS)],
    '/recovery.mjs': ['text/javascript', readFileSync(RECOVERY)],
  };
  const web = http.createServer((req, res) => {
    const f = files[req.url];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => web.close(r)));
  return `http://127.0.0.1:${web.address().port}/`;
}

test('a bare Pusher with enableRecovery in chromium gets every event across a cut connection', { timeout: 60000, skip }, async (t) => {
  const via = await cuttableProxy(t, () => server.port);

  const channel = uid('feed.');
  const url = await site(t, via.port, channel);
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.setDefaultTimeout(15000);
  await page.goto(url);
  await page.waitForFunction(() => window.subscribed === true);

  const sdk = rest(server, APP);
  for (let n = 1; n <= 3; n += 1) await sdk.trigger(channel, 'tick', { n });
  await page.waitForFunction(() => window.got.length === 3);
  via.cut();
  await page.waitForFunction(() => window.pusher.connection.state !== 'connected');
  for (let n = 4; n <= 23; n += 1) await sdk.trigger(channel, 'tick', { n });
  via.heal();
  await page.waitForFunction(() => window.got.length >= 23, null, { timeout: 30000 });
  await sdk.trigger(channel, 'tick', { n: 24 });
  await page.waitForFunction(() => window.got.includes(24));
  const got = await page.evaluate(() => window.got);
  assert.deepEqual(got, Array.from({ length: 24 }, (_, i) => i + 1), 'every event, in order, once');
  assert.deepEqual(await page.evaluate(() => window.gaps), []);
  assert.deepEqual(problems, []);
});
