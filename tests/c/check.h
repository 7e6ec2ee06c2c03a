/*
 * Tiny test helpers shared by the C tests: counted checks, string literals as
 * pointer + length, and result-code expectations that print the library's message.
 * Each program ends with the line "N passed, N failed" and exits non-zero on failure.
 */
#ifndef PUSHBUS_TEST_CHECK_H
#define PUSHBUS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushbus.h"

static int checks_passed;
static int checks_failed;

/* A string literal as the (pointer, length) pair the API takes. */
#define S(lit) (lit), (sizeof(lit) - 1)
/* A NUL-terminated string as (pointer, length). */
#define Z(str) (str), strlen(str)
/* A pushbus_str from a NUL-terminated string. */
static inline pushbus_str pstr(const char *s) {
  pushbus_str out;
  out.data = s;
  out.len = s ? strlen(s) : 0;
  return out;
}

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (cond) {                                           \
      checks_passed++;                                    \
    } else {                                              \
      checks_failed++;                                    \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                       \
      fprintf(stderr, "\n");                              \
    }                                                     \
  } while (0)

/* Checks that `call` returns `want`; on mismatch prints both codes and the message. */
#define EXPECT(want, call)                                                        \
  do {                                                                            \
    pushbus_result got_ = (call);                                                 \
    CHECK(got_ == (want), "%s returned %u (%s: %s), expected %u (%s)", #call,     \
          (unsigned)got_, pushbus_result_text(got_), pushbus_last_error_message(), \
          (unsigned)(want), pushbus_result_text(want));                           \
  } while (0)

#define EXPECT_OK(call) EXPECT(PUSHBUS_RESULT_OK, call)

/* Checks the code and that the thread's last error message contains `needle`. */
#define EXPECT_ERR(want, needle, call)                                       \
  do {                                                                       \
    EXPECT(want, call);                                                      \
    CHECK(strstr(pushbus_last_error_message(), (needle)) != NULL,            \
          "%s: message \"%s\" lacks \"%s\"", #call,                          \
          pushbus_last_error_message(), (needle));                           \
  } while (0)

/* Prints the summary line and returns the exit status. */
static inline int check_summary(const char *name) {
  printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
  return checks_failed == 0 && checks_passed > 0 ? 0 : 1;
}

#endif
