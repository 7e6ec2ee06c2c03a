// Loads the native addon built by scripts/build.js: pushbus.<platform>-<arch>[-<abi>].node
// next to this file (the names the napi-rs CLI gives with --platform).
'use strict';

const path = require('node:path');

function isMusl() {
  // glibc reports its version in the process report; musl does not.
  const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null;
  return !(report && report.header && report.header.glibcVersionRuntime);
}

function platformName() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function load() {
  const file = path.join(__dirname, `pushbus.${platformName()}.node`);
  try {
    return require(file);
  } catch (cause) {
    const err = new Error(
      `pushbus: cannot load the native addon ${file} (${cause.message}). ` +
        'Build it with `npm run build` in the package directory (needs Rust).',
      { cause },
    );
    err.code = 'ADDON_NOT_FOUND';
    throw err;
  }
}

module.exports = load();
