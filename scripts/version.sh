#!/usr/bin/env bash
# The one version number of pushbus is [workspace.package] version in Cargo.toml: every
# crate inherits it, and with it the C library (pushbus_version(), the SONAME, pushbus.pc),
# the Node addon and the `pushbus` binary. The files that cannot read Cargo.toml carry a
# copy, which this script writes and checks:
#   npm/package.json, npm/package-lock.json   the npm package (and its platform package)
#   php-ext/php_pushbus.h                      PHP_PUSHBUS_VERSION, phpversion('pushbus')
#   php-ext/package.xml                        the PECL package
#
#   bash scripts/version.sh            prints the version
#   bash scripts/version.sh check      fails when a copy differs (CI runs it)
#   bash scripts/version.sh set 0.2.0  writes the new version everywhere (then add a
#                                      CHANGELOG.md section and commit)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

current() {
  sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml
}

# The copies, one per line: file, then the version found in it.
copies() {
  printf 'npm/package.json %s\n' "$(node -p 'require("./npm/package.json").version')"
  printf 'npm/package-lock.json %s\n' \
    "$(node -p 'const l = require("./npm/package-lock.json"); l.version + (l.packages[""].version === l.version ? "" : " " + l.packages[""].version)')"
  printf 'php-ext/php_pushbus.h %s\n' "$(sed -n 's/^#define PHP_PUSHBUS_VERSION "\(.*\)"$/\1/p' php-ext/php_pushbus.h)"
  printf 'php-ext/package.xml %s\n' \
    "$(sed -n '/<version>/,/<\/version>/s/.*<release>\(.*\)<\/release>.*/\1/p' php-ext/package.xml | head -1)"
}

case "${1:-}" in
  "")
    current
    ;;
  check)
    want=$(current)
    bad=0
    while read -r file found; do
      if [ "$found" != "$want" ]; then
        echo "$file has version '$found', Cargo.toml has $want (fix: bash scripts/version.sh set $want)"
        bad=1
      fi
    done < <(copies)
    [ "$bad" = 0 ] && echo "version $want everywhere"
    exit "$bad"
    ;;
  set)
    new=${2:?usage: scripts/version.sh set X.Y.Z}
    [[ "$new" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] || { echo "not a semver version: $new"; exit 1; }
    sed -i '/^\[workspace.package\]/,/^\[/s/^version = ".*"$/version = "'"$new"'"/' Cargo.toml
    node -e '
      const fs = require("fs");
      const v = process.argv[1];
      for (const f of ["npm/package.json", "npm/package-lock.json"]) {
        const j = JSON.parse(fs.readFileSync(f, "utf8"));
        j.version = v;
        if (j.packages && j.packages[""]) j.packages[""].version = v;
        for (const deps of [j.optionalDependencies, j.packages && j.packages[""] && j.packages[""].optionalDependencies]) {
          if (deps) for (const name of Object.keys(deps)) if (name.startsWith("pushbus-")) deps[name] = v;
        }
        fs.writeFileSync(f, JSON.stringify(j, null, 2) + "\n");
      }' "$new"
    sed -i 's/^#define PHP_PUSHBUS_VERSION ".*"$/#define PHP_PUSHBUS_VERSION "'"$new"'"/' php-ext/php_pushbus.h
    sed -i '/<version>/,/<\/version>/s/<release>.*<\/release>/<release>'"$new"'<\/release>/;/<version>/,/<\/version>/s/<api>.*<\/api>/<api>'"$new"'<\/api>/' php-ext/package.xml
    sed -i 's/^<date>.*<\/date>$/<date>'"$(date -u +%F)"'<\/date>/' php-ext/package.xml
    cargo update --workspace --offline -q 2>/dev/null || cargo update --workspace -q
    "$0" check
    ;;
  *)
    echo "usage: scripts/version.sh [check | set X.Y.Z]"
    exit 2
    ;;
esac
