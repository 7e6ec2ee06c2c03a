#!/usr/bin/env bash
# The npm package as a user installs it: `node npm/scripts/pack.js` makes the tarballs
# (pushbus and pushbus-linux-x64-gnu), which are installed into a fresh project with
# `npm install --offline` (an empty npm cache: nothing comes from the registry). Then,
# with a PATH that holds node, npm, sh and timeout only (no cargo, rustc or rustup):
#   - an ESM script (`import { Server } from 'pushbus'`) and a CommonJS one
#     (`require('pushbus')`) each start an embedded server; a pusher-js client receives
#     the events published through Server.publish and through Client.trigger;
#   - tsc type-checks an example (.mts and .cts) against the installed types, and a file
#     with deliberate type errors fails to type-check.
#   bash tests/packaging/npm.sh     (PUSHBUS_PACKAGE_PROFILE=debug: a debug build, quicker)
# Needs `npm ci` in npm/ (typescript, @types/node) and in tests/node (pusher-js).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile=${PUSHBUS_PACKAGE_PROFILE:-release}
pack_args=()
[ "$profile" = debug ] && pack_args=(--debug)
version=$(node -p "require('./npm/package.json').version")

tsc=$root/npm/node_modules/typescript/bin/tsc
type_roots=$root/npm/node_modules/@types
pusher_js=$root/tests/node/node_modules/pusher-js
for need in "$tsc" "$type_roots/node" "$pusher_js"; do
  [ -e "$need" ] || { echo "missing $need: run npm ci in npm/ and tests/node"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The tarballs (pack.js prints their paths, the main package's first).
mapfile -t tarballs < <(CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} node npm/scripts/pack.js ${pack_args[@]+"${pack_args[@]}"})
[ "${#tarballs[@]}" -eq 2 ] || { echo "pack.js printed ${#tarballs[@]} paths, expected 2"; exit 1; }
main_tgz=${tarballs[0]}
platform_tgz=${tarballs[1]}
[ "$(basename "$main_tgz")" = "pushbus-$version.tgz" ] || { echo "unexpected main tarball $main_tgz"; exit 1; }
[ "$(basename "$platform_tgz")" = "pushbus-linux-x64-gnu-$version.tgz" ] || { echo "unexpected platform tarball $platform_tgz"; exit 1; }
echo "tarballs: $(basename "$main_tgz") $(du -h "$main_tgz" | cut -f1), $(basename "$platform_tgz") $(du -h "$platform_tgz" | cut -f1)"

# 2. From here on a PATH with node, npm and sh only: no Rust toolchain.
bin=$work/bin
mkdir "$bin"
for tool in node npm sh timeout; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
if PATH=$bin command -v cargo >/dev/null || PATH=$bin command -v rustc >/dev/null || PATH=$bin command -v rustup >/dev/null; then
  echo "the restricted PATH still finds a Rust tool"
  exit 1
fi
norust() { env -i HOME="$work/home" PATH="$bin" "$@"; }
mkdir "$work/home"

project=$work/app
mkdir "$project"
cd "$project"
cat >package.json <<'EOF'
{ "name": "pushbus-install-test", "version": "1.0.0", "private": true }
EOF
norust npm install --offline --no-audit --no-fund --no-update-notifier --cache "$work/npm-cache" "$platform_tgz" "$main_tgz"

count_addons() { find "$1" -name '*.node' | wc -l; }
[ "$(count_addons node_modules/pushbus)" -eq 0 ] || { echo "the installed pushbus package holds a .node file"; exit 1; }
[ "$(count_addons node_modules/pushbus-linux-x64-gnu)" -eq 1 ] || { echo "pushbus-linux-x64-gnu should hold exactly one .node file"; exit 1; }
echo "installed: pushbus (no addon), pushbus-linux-x64-gnu (one addon)"

# 3. A round trip from ESM and from CommonJS. roundtrip.cjs takes the module's exports,
#    so each entry point loads pushbus its own way.
cat >roundtrip.cjs <<'EOF'
'use strict';
const assert = require('node:assert/strict');
const Pusher = require(process.env.PUSHER_JS);

const app = { id: 'shop', key: 'shop-key', secret: 'shop-secret' };

module.exports = async function roundtrip({ Server, Client, version }, style) {
  const deadline = setTimeout(() => {
    console.error(`${style}: timed out after 15 s`);
    process.exit(1);
  }, 15000);
  const server = new Server({ host: '127.0.0.1', port: 0, apps: [app] });
  const { port } = await server.start();
  const pusher = new Pusher(app.key, {
    cluster: '', wsHost: '127.0.0.1', wsPort: port, wssPort: port,
    forceTLS: false, enabledTransports: ['ws'], enableStats: false,
  });
  const channel = pusher.subscribe('orders');
  const received = [];
  const both = new Promise((resolve) => {
    channel.bind('OrderShipped', (data) => {
      received.push(data);
      if (received.length === 2) resolve();
    });
  });
  await new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', resolve);
    channel.bind('pusher:subscription_error', reject);
  });
  server.publish('orders', 'OrderShipped', { id: 7, via: 'publish', style });
  const client = new Client({ host: '127.0.0.1', port, appId: app.id, key: app.key, secret: app.secret });
  await client.trigger('orders', 'OrderShipped', { id: 8, via: 'trigger', style });
  await both;
  assert.deepEqual(received.sort((a, b) => a.id - b.id), [
    { id: 7, via: 'publish', style },
    { id: 8, via: 'trigger', style },
  ]);
  pusher.disconnect();
  await server.stop();
  clearTimeout(deadline);
  // The addon came from the platform package: the main package has none.
  const addon = require.resolve('pushbus-linux-x64-gnu', { paths: [require.resolve('pushbus')] });
  console.log(`${style}: ok, version ${version}, addon ${addon.split('node_modules/')[1]}`);
  process.exit(0); // pusher-js's node build may leave a close timer behind
};
EOF
cat >esm.mjs <<'EOF'
import { Server, Client, version } from 'pushbus';
import roundtrip from './roundtrip.cjs';
await roundtrip({ Server, Client, version }, 'esm');
EOF
cat >cjs.cjs <<'EOF'
require('./roundtrip.cjs')(require('pushbus'), 'cjs').catch((err) => {
  console.error(err);
  process.exit(1);
});
EOF
for script in esm.mjs cjs.cjs; do
  out=$(norust PUSHER_JS="$pusher_js" timeout 60 node "$script")
  echo "$out"
  case "$out" in
    *"ok, version $version, addon pushbus-linux-x64-gnu/"*) ;;
    *) echo "$script: expected version $version and the platform package's addon"; exit 1 ;;
  esac
done

# 4. The installed types, as an application under NodeNext reads them.
cat >tsconfig.json <<EOF
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false,
    "types": ["node"],
    "typeRoots": ["$type_roots"]
  },
  "files": ["example.mts", "example.cts"]
}
EOF
cat >example.mts <<'EOF'
import { Server, Client, authorizeChannel, version, type PushbusError } from 'pushbus';

const app = { id: 'shop', key: 'shop-key', secret: 'shop-secret' };
const server = new Server({ host: '127.0.0.1', port: 0, apps: [app] });
const { port } = await server.start();
server.on('member_added', ({ channel, userId }) => console.log(channel, userId));
server.publish('orders', 'OrderShipped', { id: 7 });
const client = new Client({ host: '127.0.0.1', port, appId: app.id, key: app.key, secret: app.secret });
await client.trigger(['orders'], 'OrderShipped', { id: 8 });
const auth: { auth: string } = authorizeChannel(app, '1.2', 'private-orders');
const v: string = version;
try {
  server.publish('bad name', 'E', {});
} catch (err) {
  console.log((err as PushbusError).code === 'INVALID_CHANNEL', auth.auth, v);
}
await server.stop();
EOF
cat >example.cts <<'EOF'
import pushbus = require('pushbus');

const server = new pushbus.Server({ apps: [{ id: 'a', key: 'k', secret: 's' }], port: 0 });
export async function run(): Promise<number | null> {
  await server.start();
  return server.port;
}
export const v: string = pushbus.version;
EOF
norust node "$tsc" -p tsconfig.json
echo "tsc: the example type-checks against the installed types"

cat >tsconfig.bad.json <<EOF
{ "extends": "./tsconfig.json", "files": ["bad.mts"] }
EOF
cat >bad.mts <<'EOF'
import { Server, version } from 'pushbus';

new Server({ apps: [{ id: 'a', key: 'k' }] }); // no secret
const n: number = version;
console.log(n);
EOF
if bad=$(norust node "$tsc" -p tsconfig.bad.json); then
  echo "tsc accepted bad.mts: the installed types are not being read"
  exit 1
fi
for expected in "bad.mts(3," "'secret'" "bad.mts(4,7): error TS2322"; do
  case "$bad" in
    *"$expected"*) ;;
    *) echo "tsc did not report $expected; it said:"; echo "$bad"; exit 1 ;;
  esac
done
echo "tsc: bad.mts fails as it should ($(grep -c 'error TS' <<<"$bad") errors)"

echo "npm packaging: ok (version $version, $profile addon)"
