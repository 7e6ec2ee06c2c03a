#!/usr/bin/env bash
# The C library as a user installs it: `make -C bindings/c install PREFIX=<tmp>`, then a
# program compiled with `pkg-config --cflags --libs pushbus` (and with pushbus-static)
# runs a server and a client and prints the version.
#   bash tests/packaging/c.sh     (PUSHBUS_PACKAGE_PROFILE=debug: a debug build, quicker)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile=${PUSHBUS_PACKAGE_PROFILE:-release}
version=$(bash scripts/version.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

make -s -C bindings/c install PREFIX="$prefix" PROFILE="$profile"

for f in include/pushbus.h "lib/libpushbus.so.$version" lib/libpushbus.a \
  lib/pkgconfig/pushbus.pc lib/pkgconfig/pushbus-static.pc; do
  [ -f "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
soname=$(readelf -d "$prefix/lib/libpushbus.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$(readlink "$prefix/lib/$soname")" = "libpushbus.so.$version" ] || { echo "no $soname link"; exit 1; }
[ "$(readlink "$prefix/lib/libpushbus.so")" = "$soname" ] || { echo "no libpushbus.so link"; exit 1; }
echo "installed: libpushbus.so.$version, SONAME $soname, $(du -h "$prefix/lib/libpushbus.so.$version" | cut -f1) shared, $(du -h "$prefix/lib/libpushbus.a" | cut -f1) static"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion pushbus)" = "$version" ] || { echo "pkg-config says $(pkg-config --modversion pushbus), not $version"; exit 1; }
libdir=$(pkg-config --variable=libdir pushbus)

# Shared: the program finds the library through the rpath to the prefix, by its SONAME.
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror tests/packaging/app.c -o "$work/app" \
  $(pkg-config --cflags --libs pushbus) -Wl,-rpath,"$libdir"
readelf -d "$work/app" | grep -q "NEEDED.*\[$soname\]" || { echo "app does not need $soname"; exit 1; }
out=$(timeout 60 "$work/app")
[ "$out" = "$version" ] || { echo "app (shared) printed '$out', expected $version"; exit 1; }
echo "shared: ok ($(ldd "$work/app" | grep libpushbus))"

# Static: nothing of libpushbus is needed at run time.
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror tests/packaging/app.c -o "$work/app-static" \
  $(pkg-config --cflags --libs pushbus-static)
if readelf -d "$work/app-static" | grep -q 'NEEDED.*libpushbus'; then
  echo "app-static still needs libpushbus.so"
  exit 1
fi
out=$(timeout 60 "$work/app-static")
[ "$out" = "$version" ] || { echo "app (static) printed '$out', expected $version"; exit 1; }
echo "static: ok"

make -s -C bindings/c uninstall PREFIX="$prefix" PROFILE="$profile"
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || { echo "uninstall left: $left"; exit 1; }
echo "c packaging: ok (version $version)"
