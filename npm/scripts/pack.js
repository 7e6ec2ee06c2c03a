#!/usr/bin/env node
// Makes the npm tarballs, laid out the napi-rs way: the `pushbus` package (JavaScript and
// types, no addon) with an optional dependency on one package per platform, and the
// platform package of this machine holding the prebuilt addon.
//
//   node scripts/pack.js            release build of the addon (debug info stripped)
//   node scripts/pack.js --debug    debug build: quicker, for local runs of the tests
//
// Leaves target/dist/npm/pushbus-<version>.tgz and
// target/dist/npm/pushbus-<triple>-<version>.tgz (repository root target/) and prints
// their paths, one a line, last. The version is npm/package.json's, which
// scripts/version.sh keeps equal to the Cargo workspace's; the addon must report it.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const repo = path.resolve(pkgDir, '..');
const distDir = path.join(repo, 'target', 'dist', 'npm');
const stageDir = path.join(distDir, 'stage');

const args = process.argv.slice(2);
for (const arg of args) {
  if (arg !== '--debug') {
    console.error(`pushbus pack: unknown argument ${arg} (known: --debug)`);
    process.exit(2);
  }
}
const debug = args.includes('--debug');

function fail(message) {
  console.error(`pushbus pack: ${message}`);
  process.exit(1);
}

function run(cmd, cmdArgs, options = {}) {
  // The child's output goes to stderr: stdout is for the tarball paths only.
  const r = spawnSync(cmd, cmdArgs, { stdio: ['ignore', 2, 2], ...options });
  if (r.error) fail(`${cmd} ${cmdArgs.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${cmdArgs.join(' ')} failed (exit ${r.status ?? r.signal})`);
  return r;
}

// The triples with a prebuilt package are native.js's list, so the loader and the
// package's optional dependencies cannot disagree.
const nativeJs = fs.readFileSync(path.join(pkgDir, 'native.js'), 'utf8');
const listed = /const SUPPORTED = \[([^\]]*)\]/.exec(nativeJs);
if (!listed) fail('native.js has no `const SUPPORTED = [...]` list');
const supported = [...listed[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);

// npm's `os`, `cpu` and `libc` of each triple (napi-rs's names).
function platformFields(triple) {
  const [platform, arch, abi] = triple.split('-');
  const fields = { os: [platform], cpu: [arch] };
  if (platform === 'linux') fields.libc = [abi === 'musl' ? 'musl' : 'glibc'];
  return fields;
}

const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const { version } = pkg;

// 1. The addon, built into the platform package's directory (the checkout's own
//    pushbus.<triple>.node, which the tests use, stays as it is).
fs.rmSync(stageDir, { recursive: true, force: true });
const addonOut = path.join(stageDir, 'addon');
run(process.execPath, [path.join(__dirname, 'build.js'), ...(debug ? [] : ['--release']), '--out-dir', addonOut], { cwd: pkgDir });
const addons = fs.readdirSync(addonOut).filter((f) => f.endsWith('.node'));
if (addons.length !== 1) fail(`expected one .node file in ${addonOut}, found ${addons.join(', ') || 'none'}`);
const addonFile = addons[0];
const triple = /^pushbus\.(.+)\.node$/.exec(addonFile)?.[1];
if (!triple || !supported.includes(triple)) {
  fail(`built ${addonFile}, but native.js supports only ${supported.join(', ')}: add the triple there first`);
}
{
  // Keeps the symbols (a panic's backtrace names functions), drops the line tables (and
  // a debug build's full debug info, most of its size).
  const strip = spawnSync('strip', ['--strip-debug', path.join(addonOut, addonFile)], { stdio: ['ignore', 2, 2] });
  if (strip.error || strip.status !== 0) console.warn('pushbus pack: strip --strip-debug failed; the addon keeps its debug info');
}

// The addon must report the package's version: every face of pushbus says the same.
const addonVersion = require(path.join(addonOut, addonFile)).version();
if (addonVersion !== version) {
  fail(`the addon reports version ${addonVersion} but npm/package.json says ${version}: run scripts/version.sh`);
}

// 2. The platform package: the addon only.
const platformName = `pushbus-${triple}`;
const platformDir = path.join(stageDir, platformName);
fs.mkdirSync(platformDir, { recursive: true });
fs.renameSync(path.join(addonOut, addonFile), path.join(platformDir, addonFile));
fs.rmSync(addonOut, { recursive: true, force: true });
const platformPkg = {
  name: platformName,
  version,
  description: `The prebuilt native addon of pushbus for ${triple} (installed by the pushbus package)`,
  license: pkg.license,
  ...platformFields(triple),
  main: addonFile,
  files: [addonFile],
  engines: pkg.engines,
};
fs.writeFileSync(path.join(platformDir, 'package.json'), `${JSON.stringify(platformPkg, null, 2)}\n`);
// npm puts LICENSE in every tarball without a `files` entry; both packages carry it.
const licenseFile = path.resolve(pkgDir, '..', 'LICENSE');
fs.copyFileSync(licenseFile, path.join(platformDir, 'LICENSE'));
fs.writeFileSync(
  path.join(platformDir, 'README.md'),
  `# ${platformName}\n\nThe native addon of [pushbus](https://www.npmjs.com/package/pushbus) for ${triple}, ` +
    `built from pushbus ${version}. Install \`pushbus\`, not this package: npm picks this one as an ` +
    'optional dependency on the platform it fits.\n',
);

// 3. The main package: JavaScript, types and README; no addon, no build scripts.
const mainDir = path.join(stageDir, 'pushbus');
fs.mkdirSync(mainDir, { recursive: true });
const files = pkg.files.filter((f) => !f.endsWith('.node'));
for (const f of [...files, 'README.md']) {
  if (/[*?]/.test(f)) fail(`files entry ${f} is a pattern; pack.js copies plain files only`);
  fs.copyFileSync(path.join(pkgDir, f), path.join(mainDir, f));
}
fs.copyFileSync(licenseFile, path.join(mainDir, 'LICENSE'));
const mainPkg = {};
for (const [key, value] of Object.entries(pkg)) {
  // Build-time fields need the repository: the napi CLI's config, the scripts that build
  // the addon from Rust (`prepare` would run on `npm pack`), the test dependencies.
  if (['scripts', 'devDependencies', 'napi'].includes(key)) continue;
  mainPkg[key] = key === 'files' ? files : value;
}
mainPkg.optionalDependencies = Object.fromEntries(supported.map((t) => [`pushbus-${t}`, version]));
fs.writeFileSync(path.join(mainDir, 'package.json'), `${JSON.stringify(mainPkg, null, 2)}\n`);

// 4. npm pack each; check what went in.
for (const f of fs.readdirSync(distDir)) {
  if (/^pushbus-.*\.tgz$/.test(f)) fs.rmSync(path.join(distDir, f));
}
function pack(dir) {
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', distDir], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.error || r.status !== 0) fail(`npm pack in ${dir} failed (${r.error?.message ?? `exit ${r.status}`})`);
  const [info] = JSON.parse(r.stdout);
  return { file: path.join(distDir, info.filename), size: info.size, entries: info.files.map((e) => e.path) };
}
const platformTgz = pack(platformDir);
const mainTgz = pack(mainDir);
const nodeFiles = (t) => t.entries.filter((e) => e.endsWith('.node'));
if (nodeFiles(mainTgz).length !== 0) fail(`${mainTgz.file} contains ${nodeFiles(mainTgz).join(', ')}`);
if (nodeFiles(platformTgz).length !== 1) fail(`${platformTgz.file} should hold one .node file, holds ${nodeFiles(platformTgz).length}`);

const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.error(
  `pushbus pack: ${debug ? 'debug' : 'release'} addon for ${triple}, version ${version}: ` +
    `${path.basename(mainTgz.file)} ${kib(mainTgz.size)}, ${path.basename(platformTgz.file)} ${kib(platformTgz.size)}`,
);
console.log(mainTgz.file);
console.log(platformTgz.file);
