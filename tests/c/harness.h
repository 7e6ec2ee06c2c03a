/*
 * Child processes for the C tests (the pusher-js driver, `pushbus serve`), talked to
 * through lines on their stdin and stdout. Every wait is bounded by a deadline.
 */
#ifndef PUSHBUS_TEST_HARNESS_H
#define PUSHBUS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How long any single expectation may wait (generous: valgrind is slow). */
#define HARNESS_TIMEOUT_MS 30000

#define HARNESS_MAX_LINES 1024

typedef struct child child;

/* Called for each line starting with "auth " (the driver asks the C side to sign). */
typedef void (*auth_handler)(child *c, const char *line, void *user_data);

struct child {
  pid_t pid;
  int to_child;   /* its stdin, -1 once closed */
  int from_child; /* its stdout */
  char buf[65536];
  size_t buf_len;
  char *lines[HARNESS_MAX_LINES]; /* read but not yet consumed (a backlog) */
  size_t n_lines;
  char *seen[HARNESS_MAX_LINES]; /* every line read (owns them), for "never received" checks */
  size_t n_seen;
  auth_handler on_auth;
  void *on_auth_data;
  const char *name;
};

/* Starts argv[0] (searched in PATH) with extra environment `env` (NULL-terminated
 * "K=V" list, may be NULL). Returns false if it cannot be started. */
bool child_start(child *c, const char *name, char *const argv[], char *const env[]);

/* Writes one line (a newline is appended). */
bool child_send(child *c, const char *line);

/* Waits until a line starting with `prefix` arrives (or is already in the backlog),
 * removes it from the backlog and returns it (owned by the child; valid until
 * child_stop). NULL on timeout or end of output. */
const char *child_expect(child *c, const char *prefix, int timeout_ms);

/* Whether any line read so far starts with `prefix`. */
bool child_seen(const child *c, const char *prefix);

/* Sends a signal (e.g. SIGTERM to `pushbus serve`). */
void child_signal(child *c, int sig);

/* Closes its stdin, waits up to timeout_ms for it to exit (then SIGKILL), frees the
 * lines. Returns its exit status (or -1). */
int child_stop(child *c, int timeout_ms);

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

#endif
