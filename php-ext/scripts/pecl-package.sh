#!/usr/bin/env bash
# Makes the PECL source package of the extension, target/dist/pecl/pushbus-VERSION.tgz,
# with `pecl package` (php-pear) from php-ext/package.xml, and prints its path. The
# tarball builds against an installed libpushbus (pkg-config pushbus):
#   pecl install pushbus-VERSION.tgz
#   # or: tar xzf pushbus-VERSION.tgz && cd pushbus-VERSION && phpize && ./configure && make install
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bash scripts/version.sh check >/dev/null
command -v pecl >/dev/null || { echo "pecl not found: apt-get install php-pear"; exit 1; }
version=$(bash scripts/version.sh)
out=$root/target/dist/pecl
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# Only what package.xml lists goes in: copy those files, so that a stray file in
# php-ext/ (a build tree) never ends up in the package.
for f in $(sed -n '/<contents>/,/<\/contents>/p' php-ext/package.xml \
  | awk '/<dir name="/ { match($0, /name="[^"]*"/); d = substr($0, RSTART + 6, RLENGTH - 7); if (d != "/") path = path d "/" }
         /<\/dir>/ { sub(/[^\/]*\/$/, "", path) }
         /<file name="/ { match($0, /name="[^"]*"/); print path substr($0, RSTART + 6, RLENGTH - 7) }'); do
  mkdir -p "$stage/$(dirname "$f")"
  if [ "$f" = LICENSE ]; then cp LICENSE "$stage/$f"; else cp "php-ext/$f" "$stage/$f"; fi
done
cp php-ext/package.xml "$stage/"
(cd "$stage" && pecl package package.xml >&2)
mkdir -p "$out"
mv "$stage/pushbus-$version.tgz" "$out/"
echo "$out/pushbus-$version.tgz"
