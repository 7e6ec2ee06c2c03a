dnl The pushbus extension links the C library statically (libpushbus.a), so that
dnl pushbus.so is the only file to deploy.
dnl
dnl   phpize && ./configure --with-pushbus[=DIR] [--with-pushbus-lib=FILE] && make
dnl
dnl DIR is the pushbus checkout (default: the directory above php-ext), where
dnl include/pushbus.h is. FILE is the libpushbus.a to link (default:
dnl DIR/target/release/libpushbus.a, else DIR/target/debug/libpushbus.a).

PHP_ARG_WITH([pushbus],
  [for pushbus support],
  [AS_HELP_STRING([[--with-pushbus[=DIR]]],
    [Include pushbus support. DIR is the pushbus checkout])])

PHP_ARG_WITH([pushbus-lib],
  [for the libpushbus.a to link],
  [AS_HELP_STRING([[--with-pushbus-lib=FILE]],
    [pushbus: the static library (default DIR/target/{release,debug}/libpushbus.a)])],
  [no],
  [no])

if test "$PHP_PUSHBUS" != "no"; then
  if test "$PHP_PUSHBUS" = "yes"; then
    PUSHBUS_DIR=`cd "$abs_srcdir/.." && pwd`
  else
    PUSHBUS_DIR=$PHP_PUSHBUS
  fi

  AC_MSG_CHECKING([for pushbus.h])
  if test -r "$PUSHBUS_DIR/include/pushbus.h"; then
    AC_MSG_RESULT([$PUSHBUS_DIR/include])
  else
    AC_MSG_ERROR([pushbus.h not found in $PUSHBUS_DIR/include])
  fi

  AC_MSG_CHECKING([for libpushbus.a])
  if test "$PHP_PUSHBUS_LIB" != "no"; then
    PUSHBUS_LIB=$PHP_PUSHBUS_LIB
  elif test -r "$PUSHBUS_DIR/target/release/libpushbus.a"; then
    PUSHBUS_LIB=$PUSHBUS_DIR/target/release/libpushbus.a
  else
    PUSHBUS_LIB=$PUSHBUS_DIR/target/debug/libpushbus.a
  fi
  if test -r "$PUSHBUS_LIB"; then
    AC_MSG_RESULT([$PUSHBUS_LIB])
  else
    AC_MSG_ERROR([$PUSHBUS_LIB not found: build it with cargo build --release -p pushbus-c])
  fi

  PHP_ADD_INCLUDE([$PUSHBUS_DIR/include])
  dnl The archive's own symbols stay inside pushbus.so (--exclude-libs), so that no
  dnl other library's pushbus_* or Rust symbols can clash with them. The system
  dnl libraries are what `rustc --print native-static-libs` lists.
  PUSHBUS_SHARED_LIBADD="-Wl,--exclude-libs,ALL -Wl,--gc-sections $PUSHBUS_LIB -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
  PHP_SUBST(PUSHBUS_SHARED_LIBADD)

  PHP_NEW_EXTENSION(pushbus, pushbus.c auth.c client.c server.c, $ext_shared,, -DZEND_ENABLE_STATIC_TSRMLS_CACHE=1 -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
  PHP_ADD_EXTENSION_DEP(pushbus, json)
  PHP_ADD_EXTENSION_DEP(pushbus, spl)
fi
