// The official Python server SDK (PyPI pusher==3.3.4) against pushbus,
// observed by a pusher-js client. Needs tests/python/.venv (see README).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { pjs, collector } from '../lib/clients.js';
import { deferred, withTimeout } from '../lib/util.js';

const PY_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const PYTHON = `${PY_DIR}.venv/bin/python`;
const SCRIPT = `${PY_DIR}publish.py`;
const HAVE_VENV = existsSync(PYTHON);

const APP = app();
let server;

before(async () => {
  if (HAVE_VENV) server = await startServer({ apps: [APP] });
});
after(async () => {
  await server?.stop();
});

function runPython(args) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, ...args], { timeout: 20000 }, (err, stdout, stderr) => {
      let json;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop());
      } catch {
        json = undefined;
      }
      if (json === undefined) return reject(new Error(`publish.py failed: ${err?.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
      resolve({ code: err ? err.code : 0, json, stderr });
    });
  });
}

function subscribed(client, name) {
  const d = deferred();
  const ch = client.pusher.subscribe(name);
  ch.bind('pusher:subscription_succeeded', () => d.resolve(ch));
  ch.bind('pusher:subscription_error', (e) => d.reject(new Error(JSON.stringify(e))));
  return withTimeout(d.promise, 5000, `subscribed to ${name}`);
}

test(
  'Python SDK: trigger reaches pusher-js; channels_info / channel_info / users_info (GET with empty-body body_md5)',
  {
    timeout: 30000,
    skip: HAVE_VENV ? false : `no Python venv at ${PYTHON} — run: python3 -m venv tests/python/.venv && tests/python/.venv/bin/pip install -r tests/python/requirements.txt`,
  },
  async (t) => {
    const client = pjs(t, server, APP, { user: { id: 'py-user', info: { name: 'Py' } }, name: 'observer' });
    const news = await subscribed(client, 'py-news');
    await subscribed(client, 'presence-py.1');
    const got = collector('py.published');
    news.bind('py.published', got.cb);

    const data = '{"from": "python", "n": 1}';
    const { code, json } = await runPython([
      '--host', server.host,
      '--port', String(server.port),
      '--app-id', APP.id,
      '--key', APP.key,
      '--secret', APP.secret,
      '--channel', 'py-news',
      '--presence-channel', 'presence-py.1',
      '--event', 'py.published',
      '--data', data,
    ]);
    assert.equal(code, 0, `publish.py failed at step ${json.step}: ${json.error}`);

    assert.deepEqual(json.trigger, {});
    assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'python event at pusher-js'), { from: 'python', n: 1 });
    const rawFrame = client.messages.items.find((m) => m.event === 'py.published');
    assert.equal(rawFrame.channel, 'py-news');

    assert.deepEqual(json.channels_info.channels['presence-py.1'], { user_count: 1 });
    for (const name of Object.keys(json.channels_info.channels)) assert.ok(name.startsWith('presence-'));
    assert.deepEqual(json.channel_info, { occupied: true, subscription_count: 1 });
    assert.deepEqual(json.presence_channel_info, { occupied: true, user_count: 1 });
    assert.deepEqual(json.users_info, { users: [{ id: 'py-user' }] });
  },
);
