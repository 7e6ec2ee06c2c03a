#!/usr/bin/env bash
# Makes a Debian package of the built extension for this machine's PHP,
# target/dist/deb/phpX.Y-pushbus_VERSION-1_ARCH.deb, and prints its path. It installs
#   /usr/lib/php/<API>/pushbus.so                    (libpushbus linked in statically)
#   /etc/php/X.Y/mods-available/pushbus.ini          (a conffile)
# and, like Debian's own php-* extension packages, enables it for every SAPI on install
# (phpenmod; `phpdismod pushbus` turns it off) and disables it on removal.
#   bash php-ext/scripts/deb-package.sh            # release build
#   bash php-ext/scripts/deb-package.sh debug      # debug build (quicker, for tests)
# Needs php-dev, dpkg-deb and cargo.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
profile=${1:-release}
bash scripts/version.sh check >/dev/null
version=$(bash scripts/version.sh)
so=$(bash php-ext/scripts/build.sh "$profile" | tail -1)
php_version=$(php-config --version | cut -d. -f1,2)
extension_dir=$(php-config --extension-dir)
api=$(basename "$extension_dir")
arch=$(dpkg --print-architecture)
package=php$php_version-pushbus
out=$root/target/dist/deb
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

install -d "$stage/DEBIAN" "$stage$extension_dir" "$stage/etc/php/$php_version/mods-available" \
  "$stage/usr/share/doc/$package"
install -m 644 "$so" "$stage$extension_dir/pushbus.so"
strip --strip-debug "$stage$extension_dir/pushbus.so"
cat >"$stage/etc/php/$php_version/mods-available/pushbus.ini" <<INI
; configuration for php pushbus module
; priority=20
extension=pushbus.so
INI
install -m 644 php-ext/README.md "$stage/usr/share/doc/$package/README.md"
install -m 644 LICENSE "$stage/usr/share/doc/$package/copyright"
echo "/etc/php/$php_version/mods-available/pushbus.ini" >"$stage/DEBIAN/conffiles"

cat >"$stage/DEBIAN/control" <<CONTROL
Package: $package
Version: $version-1
Architecture: $arch
Maintainer: pushbus developers <pushbus@localhost>
Section: php
Priority: optional
Depends: phpapi-$api, php-common, libc6 (>= 2.34), libgcc-s1
Provides: php-pushbus
Installed-Size: $(du -sk "$stage" | cut -f1)
Description: pushbus extension for PHP $php_version: Pusher protocol signing, client, server
 Signs Pusher channel and user authorisations, publishes events through a
 persistent native client, and embeds the pushbus realtime server (pusher-js and
 Laravel Echo connect to it) in a PHP process. Version $version.
CONTROL

# The lines of a maintainer script that run `enmod` or `dismod` ($1) for every SAPI:
# through Debian's helper, which remembers an admin's phpdismod, else phpenmod/phpdismod.
php_mod() {
  cat <<LINES
    if [ -e /usr/lib/php/php-maintscript-helper ]; then
        . /usr/lib/php/php-maintscript-helper
        php_invoke $1 $php_version ALL pushbus
    elif command -v php$1 >/dev/null; then
        php$1 -v $php_version -s ALL pushbus
    fi
LINES
}
cat >"$stage/DEBIAN/postinst" <<SCRIPT
#!/bin/sh
set -e
if [ "\$1" = "configure" ]; then
$(php_mod enmod)
fi
exit 0
SCRIPT
cat >"$stage/DEBIAN/postrm" <<SCRIPT
#!/bin/sh
set -e
if [ "\$1" = "remove" ]; then
$(php_mod dismod)
fi
if [ "\$1" = "purge" ]; then
    # The links phpenmod made, if a SAPI's conf.d kept one.
    find /etc/php/$php_version -type l -name '*pushbus.ini' -exec rm -f {} + 2>/dev/null || true
fi
exit 0
SCRIPT
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/postrm"

mkdir -p "$out"
deb=$out/${package}_$version-1_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
