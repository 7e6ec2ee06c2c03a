// Every signing vector of tests/fixtures/vectors.json (produced by the official Node,
// Python and PHP SDKs) through the package's public functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pushbus from '../index.js';
import { VECTORS } from './helpers.mjs';

const { authorizeChannel, authenticateUser, verifyWebhook, createSignedQueryString, encryptEventData, Client } = pushbus;

const credentials = {
  key: VECTORS.credentials.key,
  secret: VECTORS.credentials.secret,
  // The master key of the encrypted vectors (bytes 0x00..0x1f).
  encryptionMasterKeyBase64: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
};

const ofKind = (kind) => VECTORS.vectors.filter((v) => v.kind === kind);

test('the fixture has the vectors this file expects', () => {
  assert.equal(ofKind('channel_authorization').length, 9);
  assert.equal(ofKind('user_authentication').length, 3);
  assert.equal(ofKind('webhook_signature').length, 2);
  assert.equal(ofKind('rest_request_signature').length, 11);
  assert.equal(ofKind('encrypted_event_data').length, 1);
});

for (const v of ofKind('channel_authorization')) {
  test(`authorizeChannel: ${v.id}`, () => {
    const { socket_id, channel_name, channel_data } = v.input;
    // channel_data is passed as the exact string the SDK produced: it is signed verbatim.
    const body = authorizeChannel(credentials, socket_id, channel_name, channel_data);
    assert.deepEqual(body, v.expected_response);
  });
}

test('authorizeChannel JSON-encodes presence data given as an object, once', () => {
  const v = ofKind('channel_authorization').find((x) => x.id === 'presence_laravel');
  const body = authorizeChannel(credentials, '123.456', 'presence-chat.1', { user_id: '1', user_info: { id: 1, name: 'Taylor' } });
  assert.deepEqual(body, v.expected_response);
});

for (const v of ofKind('user_authentication')) {
  test(`authenticateUser: ${v.id}`, () => {
    const body = authenticateUser(credentials, v.input.socket_id, v.input.user_data);
    assert.deepEqual(body, v.expected_response);
  });
}

test('authenticateUser JSON-encodes user data given as an object', () => {
  const v = ofKind('user_authentication').find((x) => x.id === 'user_with_info_watchlist');
  const body = authenticateUser(credentials, '123.456', { id: '1', user_info: { name: 'Taylor' }, watchlist: ['2', '3'] });
  assert.deepEqual(body, v.expected_response);
});

for (const v of ofKind('webhook_signature')) {
  test(`verifyWebhook: ${v.id}`, () => {
    const { body } = v.input;
    const headers = v.expected_headers;
    assert.equal(verifyWebhook(credentials, headers, body), true);
    assert.equal(verifyWebhook(credentials, headers, Buffer.from(body)), true);
    // Header names are case-insensitive; fetch's Headers works too.
    const lower = Object.fromEntries(Object.entries(headers).map(([k, val]) => [k.toLowerCase(), val]));
    assert.equal(verifyWebhook(credentials, lower, body), true);
    assert.equal(verifyWebhook(credentials, new Headers(headers), body), true);
    // Any change to the body, the signature, the key or the secret is refused.
    assert.equal(verifyWebhook(credentials, headers, body + ' '), false);
    const sig = headers['X-Pusher-Signature'];
    const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
    assert.equal(verifyWebhook(credentials, { ...headers, 'X-Pusher-Signature': flipped }, body), false);
    assert.equal(verifyWebhook(credentials, { ...headers, 'X-Pusher-Key': 'other' }, body), false);
    assert.equal(verifyWebhook({ ...credentials, secret: 'other' }, headers, body), false);
    assert.equal(verifyWebhook(credentials, {}, body), false);
  });
}

for (const v of ofKind('rest_request_signature')) {
  test(`createSignedQueryString: ${v.id}`, () => {
    const { method, path, body, query_without_signature: q } = v.input;
    // What the caller adds on top of what the signer sets itself (auth_*, body_md5 of
    // a non-empty body); a body_md5 of an empty body is kept, as pusher-http-python sends it.
    const params = Object.fromEntries(
      Object.entries(q).filter(([k]) => !k.startsWith('auth_') && !(k === 'body_md5' && body !== '')),
    );
    const query = createSignedQueryString(credentials, { method, path, params, body, timestamp: Number(q.auth_timestamp) });
    const signed = Object.fromEntries(new URLSearchParams(query));
    assert.deepEqual(signed, { ...q, auth_signature: v.expected.auth_signature });
    assert.ok(query.endsWith(`auth_signature=${v.expected.auth_signature}`), 'auth_signature comes last');
  });
}

for (const v of ofKind('encrypted_event_data')) {
  test(`encryptEventData: ${v.id}`, () => {
    const { channel, encryption_master_key_base64, plaintext, nonce_hex } = v.input;
    const data = encryptEventData({ encryptionMasterKeyBase64: encryption_master_key_base64 }, channel, plaintext, {
      nonce: Buffer.from(nonce_hex, 'hex'),
    });
    assert.equal(data, v.expected_data_field);
    // Without a nonce a fresh random one is used each time.
    const a = JSON.parse(encryptEventData(credentials, channel, { message: 'hello' }));
    const b = JSON.parse(encryptEventData(credentials, channel, { message: 'hello' }));
    assert.notEqual(a.nonce, b.nonce);
  });
}

test('Client signs with its own credentials, the same way', () => {
  const client = new Client({ host: '127.0.0.1', port: 8080, appId: VECTORS.credentials.app_id, ...credentials });
  const v = ofKind('channel_authorization').find((x) => x.id === 'private_encrypted');
  assert.deepEqual(client.authorizeChannel(v.input.socket_id, v.input.channel_name), v.expected_response);
  const u = ofKind('user_authentication')[0];
  assert.deepEqual(client.authenticateUser(u.input.socket_id, u.input.user_data), u.expected_response);
  const w = ofKind('webhook_signature')[0];
  assert.equal(client.verifyWebhook(w.expected_headers, w.input.body), true);
});

test('signing refuses invalid input with coded errors', () => {
  const code = (code) => (err) => err instanceof Error && err.code === code;
  assert.throws(() => authorizeChannel(credentials, '1234', 'private-a'), code('INVALID_SOCKET_ID'));
  assert.throws(() => authorizeChannel(credentials, '1.2', 'private-a:b'), code('INVALID_CHANNEL'));
  assert.throws(() => authorizeChannel(credentials, '1.2', 'a'.repeat(201)), code('INVALID_CHANNEL'));
  assert.throws(() => authorizeChannel(credentials, '1.2', 'presence-a'), code('INVALID_ARGUMENT'));
  assert.throws(() => authorizeChannel(credentials, '1.2', 'presence-a', { user_info: {} }), code('INVALID_ARGUMENT'));
  assert.throws(
    () => authorizeChannel({ key: 'k', secret: 's' }, '1.2', 'private-encrypted-a'),
    code('INVALID_ARGUMENT'),
  );
  assert.throws(
    () => authorizeChannel({ ...credentials, encryptionMasterKeyBase64: 'c2hvcnQ=' }, '1.2', 'private-a'),
    code('INVALID_ARGUMENT'),
  );
  assert.throws(() => authorizeChannel(null, '1.2', 'private-a'), code('INVALID_ARGUMENT'));
  assert.throws(() => authorizeChannel(credentials, 12, 'private-a'), code('INVALID_ARGUMENT'));
  assert.throws(() => authenticateUser(credentials, '1.2', { name: 'no id' }), code('INVALID_ARGUMENT'));
  assert.throws(() => authenticateUser(credentials, 'x', { id: '1' }), code('INVALID_SOCKET_ID'));
  assert.throws(() => encryptEventData(credentials, 'private-a', 'x'), code('INVALID_CHANNEL'));
  // What the server would refuse is refused when signing (the same rules in C and PHP).
  assert.throws(() => authorizeChannel(credentials, '1.2', 'orders'), code('INVALID_CHANNEL'));
  assert.throws(() => authorizeChannel(credentials, '1.2', 'private-a', { user_id: '1' }), code('INVALID_ARGUMENT'));
  assert.throws(() => authorizeChannel(credentials, '1.2', 'presence-a', { user_id: '' }), code('INVALID_ARGUMENT'));
  assert.throws(() => authenticateUser(credentials, '1.2', { id: 7 }), code('INVALID_ARGUMENT'));
  assert.throws(() => authorizeChannel({ key: '', secret: 's' }, '1.2', 'private-a'), code('INVALID_ARGUMENT'));
  assert.throws(
    () => createSignedQueryString(credentials, { method: 'GET', path: '/apps/1/channels', timestamp: -1 }),
    code('INVALID_ARGUMENT'),
  );
});
