// The package as a whole: its version, its ESM face, and the loader's error when no
// addon fits. (tests/packaging/npm.sh installs the real tarballs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esm from '../index.js';
import { version, Server, Client } from '../index.js';
import pushbus from '../index.js';
import { PKG_DIR, runNode } from './helpers.mjs';

const pkg = JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8'));

test('version is the package version, the one the addon reports', () => {
  assert.equal(typeof version, 'string');
  assert.match(version, /^\d+\.\d+\.\d+/);
  assert.equal(version, pkg.version);
  assert.equal(pushbus.version, pkg.version);
});

test('import gives every export by name (Node reads the CommonJS exports)', () => {
  assert.equal(typeof Server, 'function');
  assert.equal(typeof Client, 'function');
  const named = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(named, Object.keys(pushbus).sort());
});

function withLoneLoader(t) {
  // native.js alone in a directory: no addon next to it, no pushbus-<triple> to find.
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-loader-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(PKG_DIR, 'native.js'), join(dir, 'native.js'));
  return join(dir, 'native.js');
}

const report = (file) => `
  try {
    require(${JSON.stringify(file)});
    console.log('loaded');
  } catch (err) {
    console.log(JSON.stringify({
      code: err.code, message: err.message, platform: err.platform, tried: err.tried,
      supported: err.supported, cause: err.cause && err.cause.message,
    }));
  }`;

test('no addon on a supported platform: ADDON_NOT_FOUND names the triple, what was tried and the cause', async (t) => {
  const file = withLoneLoader(t);
  const { code, stdout, stderr } = await runNode(report(file));
  assert.equal(code, 0, stderr);
  const err = JSON.parse(stdout);
  assert.equal(err.code, 'ADDON_NOT_FOUND');
  assert.equal(err.platform, 'linux-x64-gnu');
  assert.deepEqual(err.supported, ['linux-x64-gnu']);
  assert.deepEqual(err.tried, [file.replace(/native\.js$/, 'pushbus.linux-x64-gnu.node'), 'pushbus-linux-x64-gnu']);
  assert.match(err.message, /\(linux-x64-gnu\)/);
  assert.match(err.message, /package pushbus-linux-x64-gnu is not installed/);
  assert.match(err.message, /Prebuilt addons exist for: linux-x64-gnu\./);
  assert.match(err.cause, /Cannot find module 'pushbus-linux-x64-gnu'/);
});

test('an unsupported platform: ADDON_NOT_FOUND says to build from source', async (t) => {
  const file = withLoneLoader(t);
  const script = `Object.defineProperty(process, 'arch', { value: 'riscv64' });${report(file)}`;
  const { code, stdout, stderr } = await runNode(script);
  assert.equal(code, 0, stderr);
  const err = JSON.parse(stdout);
  assert.equal(err.code, 'ADDON_NOT_FOUND');
  assert.equal(err.platform, 'linux-riscv64-gnu');
  assert.match(err.message, /there is no prebuilt addon for linux-riscv64-gnu; build it from source/);
  assert.match(err.message, /Tried .*pushbus\.linux-riscv64-gnu\.node and the package pushbus-linux-riscv64-gnu/);
  assert.match(err.message, /Prebuilt addons exist for: linux-x64-gnu\./);
});
