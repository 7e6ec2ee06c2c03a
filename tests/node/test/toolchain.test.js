// Guards against silently testing with other client/SDK versions than the
// ones the spec was verified with (spec §0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgVersion = (name) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url)), 'utf8')).version;

test('pinned client and SDK versions are installed', () => {
  assert.equal(pkgVersion('pusher-js'), '8.6.0');
  assert.equal(pkgVersion('laravel-echo'), '2.5.0');
  assert.equal(pkgVersion('pusher'), '5.3.4');
  assert.equal(pkgVersion('ws'), '8.23.0');
  assert.ok(Number(process.versions.node.split('.')[0]) >= 20, `Node ${process.versions.node} < 20`);
});
