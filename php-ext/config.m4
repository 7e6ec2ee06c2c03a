dnl The pushbus extension links the C library statically (libpushbus.a), so that
dnl pushbus.so is the only file to deploy.
dnl
dnl   phpize && ./configure [--with-pushbus[=DIR]] [--with-pushbus-lib=FILE] && make
dnl
dnl Where pushbus.h and libpushbus.a are found:
dnl   DIR given:   DIR/include/pushbus.h with DIR/lib/libpushbus.a (an install prefix) or
dnl                DIR/target/{release,debug}/libpushbus.a (a pushbus checkout);
dnl   DIR omitted: the checkout above php-ext when this is one, else the installed
dnl                library that `pkg-config pushbus` describes (the PECL package's case).
dnl FILE overrides the libpushbus.a to link.

PHP_ARG_WITH([pushbus],
  [for pushbus support],
  [AS_HELP_STRING([[--with-pushbus[=DIR]]],
    [Include pushbus support. DIR is the libpushbus install prefix or a pushbus checkout])],
  [yes])

PHP_ARG_WITH([pushbus-lib],
  [for the libpushbus.a to link],
  [AS_HELP_STRING([[--with-pushbus-lib=FILE]],
    [pushbus: the static library to link (default: found with the header)])],
  [no],
  [no])

if test "$PHP_PUSHBUS" != "no"; then
  PUSHBUS_INCLUDE=
  PUSHBUS_LIB=
  if test "$PHP_PUSHBUS" = "yes" || test "$PHP_PUSHBUS" = "autodetect"; then
    if test -r "$abs_srcdir/../include/pushbus.h" && test -r "$abs_srcdir/../Cargo.toml"; then
      PUSHBUS_DIR=`cd "$abs_srcdir/.." && pwd`
    else
      PUSHBUS_DIR=
      AC_PATH_PROG(PKG_CONFIG, pkg-config, no)
      AC_MSG_CHECKING([for libpushbus with pkg-config])
      if test "$PKG_CONFIG" != "no" && $PKG_CONFIG --exists pushbus; then
        PUSHBUS_INCLUDE=`$PKG_CONFIG --variable=includedir pushbus`
        PUSHBUS_LIB=`$PKG_CONFIG --variable=libdir pushbus`/libpushbus.a
        AC_MSG_RESULT([`$PKG_CONFIG --modversion pushbus` in `$PKG_CONFIG --variable=prefix pushbus`])
      else
        AC_MSG_RESULT([no])
        AC_MSG_ERROR([libpushbus not found: install the C library (make -C bindings/c install in a pushbus checkout), set PKG_CONFIG_PATH to its lib/pkgconfig, or pass --with-pushbus=PREFIX])
      fi
    fi
  else
    PUSHBUS_DIR=$PHP_PUSHBUS
  fi

  if test -n "$PUSHBUS_DIR"; then
    PUSHBUS_INCLUDE=$PUSHBUS_DIR/include
    for candidate in "$PUSHBUS_DIR/lib/libpushbus.a" "$PUSHBUS_DIR/target/release/libpushbus.a" "$PUSHBUS_DIR/target/debug/libpushbus.a"; do
      if test -z "$PUSHBUS_LIB" && test -r "$candidate"; then
        PUSHBUS_LIB=$candidate
      fi
    done
  fi
  if test "$PHP_PUSHBUS_LIB" != "no"; then
    PUSHBUS_LIB=$PHP_PUSHBUS_LIB
  fi

  AC_MSG_CHECKING([for pushbus.h])
  if test -r "$PUSHBUS_INCLUDE/pushbus.h"; then
    AC_MSG_RESULT([$PUSHBUS_INCLUDE])
  else
    AC_MSG_ERROR([pushbus.h not found in $PUSHBUS_INCLUDE])
  fi

  AC_MSG_CHECKING([for libpushbus.a])
  if test -n "$PUSHBUS_LIB" && test -r "$PUSHBUS_LIB"; then
    AC_MSG_RESULT([$PUSHBUS_LIB])
  else
    AC_MSG_ERROR([libpushbus.a not found (in $PUSHBUS_DIR/lib or $PUSHBUS_DIR/target): build it with cargo build --release -p pushbus-c, or pass --with-pushbus-lib=FILE])
  fi

  PHP_ADD_INCLUDE([$PUSHBUS_INCLUDE])
  dnl The archive's own symbols stay inside pushbus.so (--exclude-libs), so that no
  dnl other library's pushbus_* or Rust symbols can clash with them. The system
  dnl libraries are what `rustc --print native-static-libs` lists (pushbus.pc's
  dnl Libs.private).
  PUSHBUS_SHARED_LIBADD="-Wl,--exclude-libs,ALL -Wl,--gc-sections $PUSHBUS_LIB -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
  PHP_SUBST(PUSHBUS_SHARED_LIBADD)

  PHP_NEW_EXTENSION(pushbus, pushbus.c auth.c client.c server.c, $ext_shared,, -DZEND_ENABLE_STATIC_TSRMLS_CACHE=1 -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
  PHP_ADD_EXTENSION_DEP(pushbus, json)
  PHP_ADD_EXTENSION_DEP(pushbus, spl)
fi
