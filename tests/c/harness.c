#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool child_start(child *c, const char *name, char *const argv[], char *const env[]) {
  memset(c, 0, sizeof *c);
  c->name = name;
  c->to_child = -1;
  c->from_child = -1;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return false;
  if (pipe2(out, O_CLOEXEC) != 0) return false;

  /* The environment: ours plus `env`. */
  size_t n_env = 0, n_extra = 0;
  while (environ[n_env]) n_env++;
  while (env && env[n_extra]) n_extra++;
  char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
  if (!envp) return false;
  memcpy(envp, environ, n_env * sizeof *envp);
  for (size_t i = 0; i < n_extra; i++) envp[n_env + i] = env[i];

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  int rc = posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  free(envp);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    fprintf(stderr, "%s: cannot start %s: %s\n", name, argv[0], strerror(rc));
    close(in[1]);
    close(out[0]);
    return false;
  }
  c->to_child = in[1];
  c->from_child = out[0];
  return true;
}

bool child_send(child *c, const char *line) {
  if (c->to_child < 0) return false;
  size_t len = strlen(line);
  char *msg = malloc(len + 1);
  if (!msg) return false;
  memcpy(msg, line, len);
  msg[len] = '\n';
  size_t off = 0;
  bool ok = true;
  while (off < len + 1) {
    ssize_t n = write(c->to_child, msg + off, len + 1 - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += (size_t)n;
  }
  free(msg);
  return ok;
}

/* Moves complete lines from buf to the backlog; answers auth requests at once. */
static void split_lines(child *c) {
  char *start = c->buf;
  char *nl;
  while ((nl = memchr(start, '\n', c->buf_len - (size_t)(start - c->buf))) != NULL) {
    *nl = '\0';
    char *line = strdup(start);
    start = nl + 1;
    if (!line) continue;
    if (c->n_seen == HARNESS_MAX_LINES) { /* a runaway child: keep what we have */
      free(line);
      continue;
    }
    c->seen[c->n_seen++] = line;
    fprintf(stderr, "  [%s] %s\n", c->name, line);
    if (c->on_auth && strncmp(line, "auth ", 5) == 0) {
      c->on_auth(c, line, c->on_auth_data);
      continue;
    }
    c->lines[c->n_lines++] = line;
  }
  size_t rest = c->buf_len - (size_t)(start - c->buf);
  memmove(c->buf, start, rest);
  c->buf_len = rest;
}

/* Reads what is available within `timeout_ms`; false at end of output or timeout. */
static bool read_some(child *c, int timeout_ms) {
  if (c->from_child < 0) return false;
  struct pollfd p = {.fd = c->from_child, .events = POLLIN};
  int r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
  if (r <= 0) return false;
  if (c->buf_len == sizeof c->buf) c->buf_len = 0; /* an absurd line: drop it */
  ssize_t n = read(c->from_child, c->buf + c->buf_len, sizeof c->buf - c->buf_len);
  if (n <= 0) {
    close(c->from_child);
    c->from_child = -1;
    return false;
  }
  c->buf_len += (size_t)n;
  split_lines(c);
  return true;
}

const char *child_expect(child *c, const char *prefix, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  size_t plen = strlen(prefix);
  for (;;) {
    for (size_t i = 0; i < c->n_lines; i++) {
      if (strncmp(c->lines[i], prefix, plen) == 0) {
        const char *line = c->lines[i];
        memmove(&c->lines[i], &c->lines[i + 1], (c->n_lines - i - 1) * sizeof c->lines[0]);
        c->n_lines--;
        return line;
      }
    }
    long long left = deadline - now_ms();
    if (left <= 0) break;
    if (!read_some(c, (int)left) && c->from_child < 0) break;
  }
  fprintf(stderr, "  [%s] no line starting with \"%s\" within %d ms\n", c->name, prefix,
          timeout_ms);
  return NULL;
}

bool child_seen(const child *c, const char *prefix) {
  size_t plen = strlen(prefix);
  for (size_t i = 0; i < c->n_seen; i++) {
    if (strncmp(c->seen[i], prefix, plen) == 0) return true;
  }
  return false;
}

void child_signal(child *c, int sig) {
  if (c->pid > 0) kill(c->pid, sig);
}

int child_stop(child *c, int timeout_ms) {
  if (c->to_child >= 0) {
    close(c->to_child);
    c->to_child = -1;
  }
  int status = -1;
  long long deadline = now_ms() + timeout_ms;
  bool exited = false;
  while (c->pid > 0) {
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r == c->pid) {
      exited = true;
      break;
    }
    if (r < 0 || now_ms() >= deadline) break;
    /* Drain its output (it may block writing) while waiting, 50 ms at a time. */
    if (!read_some(c, 50) && c->from_child < 0) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  if (c->pid > 0 && !exited) {
    fprintf(stderr, "  [%s] did not exit within %d ms: killing it\n", c->name, timeout_ms);
    kill(c->pid, SIGKILL);
    waitpid(c->pid, &status, 0);
    status = -1;
  }
  if (c->from_child >= 0) close(c->from_child);
  c->from_child = -1;
  for (size_t i = 0; i < c->n_seen; i++) free(c->seen[i]);
  c->n_seen = 0;
  c->n_lines = 0;
  c->pid = 0;
  if (status >= 0 && WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}
