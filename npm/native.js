// Loads the native addon, the napi-rs way. For the platform triple of this process
// (`linux-x64-gnu`, the names the napi-rs CLI gives with --platform) it tries, in order:
//
//   1. pushbus.<triple>.node next to this file: what scripts/build.js builds in a
//      checkout of the repository;
//   2. the package pushbus-<triple>: the prebuilt addon, an optional dependency of
//      `pushbus` that npm installs only on the platform it was built for.
//
// When neither loads it throws an Error with code ADDON_NOT_FOUND that names the triple,
// what it tried and the triples with a prebuilt addon; `cause` is the reason.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** Triples with a prebuilt addon package (`pushbus-<triple>`); scripts/pack.js builds them. */
const SUPPORTED = ['linux-x64-gnu'];

function isMusl() {
  // glibc reports its version in the process report; musl does not.
  const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null;
  return !(report && report.header && report.header.glibcVersionRuntime);
}

function platformTriple() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function isNotFound(err, request) {
  return err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(request);
}

function load() {
  const triple = platformTriple();
  const file = path.join(__dirname, `pushbus.${triple}.node`);
  const pkg = `pushbus-${triple}`;
  const failures = [];

  if (fs.existsSync(file)) {
    try {
      return require(file);
    } catch (cause) {
      failures.push(cause);
    }
  }
  try {
    return require(pkg);
  } catch (cause) {
    failures.push(cause);
  }

  // The cause worth reading: a file that exists but does not load (a missing shared
  // library, a wrong glibc) rather than "cannot find module".
  const cause = failures.find((e) => !isNotFound(e, pkg)) || failures[failures.length - 1];
  const supported = SUPPORTED.includes(triple);
  const why = supported
    ? `the package ${pkg} is not installed or does not load (${cause.message.split('\n')[0]}); ` +
      'reinstall pushbus without --no-optional / --omit=optional'
    : `there is no prebuilt addon for ${triple}; build it from source (see the README of the ` +
      'pushbus package: needs Rust)';
  const err = new Error(
    `pushbus: cannot load the native addon for this platform (${triple}): ${why}. ` +
      `Tried ${file} and the package ${pkg}. Prebuilt addons exist for: ${SUPPORTED.join(', ')}.`,
    { cause },
  );
  err.code = 'ADDON_NOT_FOUND';
  err.platform = triple;
  err.tried = [file, pkg];
  err.supported = SUPPORTED.slice();
  throw err;
}

module.exports = load();
