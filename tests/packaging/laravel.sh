#!/usr/bin/env bash
# The Laravel package as Composer and Laravel see it: php-ext/laravel/composer.json is
# valid (composer validate --strict); a fresh project requiring pushbus/laravel from a
# path repository installs it with the real composer (the framework packages are
# declared as provided by the project, since this machine has Debian's Laravel and no
# Packagist); vendor/autoload.php loads the provider; and Laravel's own PackageManifest
# (package discovery) lists Pushbus\Laravel\PushbusServiceProvider.
#   bash tests/packaging/laravel.sh     (needs composer, php-laravel-framework)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export COMPOSER_ALLOW_SUPERUSER=1 COMPOSER_NO_INTERACTION=1 COMPOSER_DISABLE_NETWORK=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export COMPOSER_HOME=$work/composer-home

(cd php-ext/laravel && composer validate --strict --no-check-publish)

mkdir "$work/app"
laravel=$(php -r 'require "/usr/share/php/Illuminate/autoload.php"; echo Illuminate\Foundation\Application::VERSION;')
cat >"$work/app/composer.json" <<JSON
{
    "name": "test/portal",
    "type": "project",
    "repositories": [
        {"type": "path", "url": "$root/php-ext/laravel", "options": {"symlink": false}},
        {"packagist.org": false}
    ],
    "require": {"pushbus/laravel": "*@dev"},
    "provide": {
        "illuminate/broadcasting": "$laravel",
        "illuminate/console": "$laravel",
        "illuminate/support": "$laravel"
    },
    "config": {"platform-check": false}
}
JSON
# ext-pushbus is the extension, not loaded here; the rest must resolve as declared.
(cd "$work/app" && composer install --ignore-platform-req=ext-pushbus --no-progress 2>&1) | tail -3

cat >"$work/app/check.php" <<'PHP'
<?php
require __DIR__.'/vendor/autoload.php';
require '/usr/share/php/Illuminate/autoload.php';

$ok = class_exists(Pushbus\Laravel\PushbusServiceProvider::class);
echo $ok ? "autoload: ok\n" : "autoload: Pushbus\\Laravel\\PushbusServiceProvider not found\n";
$manifest = new Illuminate\Foundation\PackageManifest(
    new Illuminate\Filesystem\Filesystem(), __DIR__, __DIR__.'/packages.php');
$providers = $manifest->providers();
echo 'discovered providers: ', implode(', ', $providers), "\n";
exit($ok && in_array('Pushbus\Laravel\PushbusServiceProvider', $providers, true) ? 0 : 1);
PHP
(cd "$work/app" && php check.php)
echo "laravel packaging: ok (composer $(composer --version 2>/dev/null | awk '{print $3}'), Laravel $laravel)"
