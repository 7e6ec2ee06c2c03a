#!/usr/bin/env node
// Builds the native addon from ../bindings/node (needs Rust) with the napi-rs CLI and
// puts it next to index.js as pushbus.<platform>.node, where native.js loads it.
//
//   node scripts/build.js            debug build (what the tests use); updates native.d.ts
//   node scripts/build.js --release  optimised build
//   node scripts/build.js --check    also fail when the generated native.d.ts differs
//                                    from the committed one (CI's drift check)
//   node scripts/build.js --out-dir D  put the .node file in D instead (scripts/pack.js),
//                                    leaving the checkout's own addon as it is
//
// Runs on `npm install` (the `prepare` script) in a checkout of the repository.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const crateManifest = path.resolve(pkgDir, '..', 'bindings', 'node', 'Cargo.toml');
const committedDts = path.join(pkgDir, 'native.d.ts');
const argv = process.argv.slice(2);
const outDirAt = argv.indexOf('--out-dir');
const outDirArg = outDirAt >= 0 ? argv.splice(outDirAt, 2)[1] : undefined;
if (outDirAt >= 0 && !outDirArg) {
  console.error('pushbus build: --out-dir needs a directory');
  process.exit(2);
}
const addonDir = outDirArg ? path.resolve(outDirArg) : pkgDir;
const args = new Set(argv);
const release = args.has('--release');
const check = args.has('--check');
for (const arg of args) {
  if (!['--release', '--check'].includes(arg)) {
    console.error(`pushbus build: unknown argument ${arg} (known: --release, --check, --out-dir DIR)`);
    process.exit(2);
  }
}

function fail(message) {
  console.error(`pushbus build: ${message}`);
  process.exit(1);
}

if (!fs.existsSync(crateManifest)) {
  fail(`${crateManifest} not found: the addon is built from a checkout of the pushbus repository`);
}
const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.status !== 0) {
  fail('cargo not found: install Rust (https://rustup.rs) to build the native addon');
}

// The CLI's `exports` hide its entry point from require.resolve; `bin` names this file.
const napiCli = path.join(pkgDir, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
if (!fs.existsSync(napiCli)) fail('@napi-rs/cli is not installed: run `npm install` first');

// Build into a scratch directory, then move the pieces into place, so that a failed
// build never leaves a half-written file behind.
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushbus-napi-'));
try {
  const napiArgs = [
    napiCli,
    'build',
    '--platform',
    '--no-js',
    '--manifest-path', crateManifest,
    '--package-json-path', path.join(pkgDir, 'package.json'),
    '--output-dir', outDir,
    '--dts', 'native.d.ts',
  ];
  if (release) napiArgs.push('--release');
  const env = { ...process.env, CARGO_BUILD_JOBS: process.env.CARGO_BUILD_JOBS || '2' };
  const built = spawnSync(process.execPath, napiArgs, { cwd: pkgDir, stdio: 'inherit', env });
  if (built.status !== 0) fail(`napi build failed (exit ${built.status ?? built.signal})`);

  const addons = fs.readdirSync(outDir).filter((f) => f.endsWith('.node'));
  if (addons.length !== 1) fail(`expected one .node file in ${outDir}, found ${addons.join(', ') || 'none'}`);
  fs.mkdirSync(addonDir, { recursive: true });
  fs.copyFileSync(path.join(outDir, addons[0]), path.join(addonDir, addons[0]));

  const generated = fs.readFileSync(path.join(outDir, 'native.d.ts'), 'utf8');
  const committed = fs.existsSync(committedDts) ? fs.readFileSync(committedDts, 'utf8') : null;
  if (generated !== committed) {
    if (check) {
      fs.writeFileSync(path.join(pkgDir, 'native.d.ts.new'), generated);
      fail(
        'native.d.ts is out of date with bindings/node: the generated version is in ' +
          'npm/native.d.ts.new; run `npm run build` and commit native.d.ts',
      );
    }
    fs.writeFileSync(committedDts, generated);
    console.log('pushbus build: native.d.ts updated; commit it with the Rust change');
  }
  console.log(`pushbus build: ${path.join(addonDir, addons[0])} (${release ? 'release' : 'debug'})`);
} finally {
  fs.rmSync(outDir, { recursive: true, force: true });
}
