/*
 * The PHP-FPM pattern: the parent uses the library (its threads are running: a started
 * server, a client), then forks. The child, which has none of those threads, starts
 * its own server and publishes, and talks to it through its own client; the parent's
 * handles refuse with PUSHBUS_RESULT_FORKED there. The parent keeps working after.
 *
 * Linked against libpushbus.a, to check the static library too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define KEY "278d425bdf160c739803"
#define SECRET "7ad3773142a6692b25b8"
#define CONFIG                                                                       \
  "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":[{\"id\":\"3\",\"key\":\"" KEY "\"," \
  "\"secret\":\"" SECRET "\"}]}"

/* Starts a server, publishes on it and queries it over HTTP with a client. */
static void use_library(const char *who, pushbus_server **out_server, pushbus_client **out_client) {
  pushbus_server *server = NULL;
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &server));
  EXPECT_OK(pushbus_server_start(server, S("127.0.0.1:0"), &port));
  pushbus_str orders = pstr("orders");
  EXPECT_OK(pushbus_server_publish(server, S("3"), &orders, 1, S("e"), S("{}"), NULL, 0));
  pushbus_client *client = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), port, false, S("3"), S(KEY), S(SECRET), 0, NULL,
                               &client));
  EXPECT_OK(pushbus_client_trigger(client, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_OK(pushbus_client_trigger_queued(client, &orders, 1, S("q"), S("{}"), NULL, 0));
  size_t pending = 1;
  EXPECT_OK(pushbus_client_flush(client, 10000, &pending));
  CHECK(pending == 0, "%s: the queued trigger was answered", who);
  char *json = NULL;
  EXPECT_OK(pushbus_client_channels(client, NULL, 0, NULL, 0, &json));
  CHECK(json && strcmp(json, "{\"channels\":{}}") == 0, "%s: channels %s", who,
        json ? json : "(null)");
  pushbus_string_free(json);
  *out_server = server;
  *out_client = client;
}

static int child_main(pushbus_server *parent_server, pushbus_client *parent_client,
                      pushbus_events *parent_events) {
  /* The parent's handles: their threads do not exist here. */
  pushbus_str orders = pstr("orders");
  EXPECT_ERR(PUSHBUS_RESULT_FORKED, "before a fork",
             pushbus_server_publish(parent_server, S("3"), &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_FORKED, "before a fork",
             pushbus_client_trigger(parent_client, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_FORKED, "before a fork",
             pushbus_client_trigger_queued(parent_client, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_FORKED, "before a fork", pushbus_client_flush(parent_client, 0, NULL));
  pushbus_event *ev = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_FORKED, "before a fork", pushbus_events_poll(parent_events, 0, &ev));
  /* Pure functions work as before. */
  char *auth = NULL;
  EXPECT_OK(pushbus_auth_channel(S(KEY), S(SECRET), S("1.1"), S("private-a"), NULL, 0, &auth));
  pushbus_string_free(auth);

  /* A server and a client of its own. */
  pushbus_server *server = NULL;
  pushbus_client *client = NULL;
  use_library("child", &server, &client);
  pushbus_events *events = NULL;
  EXPECT_OK(pushbus_server_events(server, &events));
  EXPECT_OK(pushbus_server_stop(server));
  pushbus_client_free(client);
  pushbus_server_free(server);
  pushbus_events_free(events);
  /* Released without being touched (their threads are the parent's). */
  pushbus_events_free(parent_events);
  pushbus_client_free(parent_client);
  pushbus_server_free(parent_server);
  return check_summary("test_fork (child)");
}

/* Starts and stops a server: the first use of the library's runtime in a process. */
static int start_and_stop(void) {
  pushbus_server *server = NULL;
  uint16_t port = 0;
  int ok = pushbus_server_new(S(CONFIG), &server) == PUSHBUS_RESULT_OK &&
           pushbus_server_start(server, S("127.0.0.1:0"), &port) == PUSHBUS_RESULT_OK &&
           pushbus_server_stop(server) == PUSHBUS_RESULT_OK;
  pushbus_server_free(server);
  return ok;
}

static void *start_and_stop_thread(void *arg) {
  (void)arg;
  return start_and_stop() ? (void *)1 : NULL;
}

/*
 * test_fork --race: fork() while another thread builds the library's runtime (its first
 * use in the process). The child must still build its own: without the library's fork
 * handlers it could inherit the runtime's lock held by a thread it does not have, and
 * hang. Each round is a fresh process that starts a server on a thread and forks after
 * a delay that moves across the build; the grandchild starts a server too, with an
 * alarm that turns a hang into a failure. Not run under valgrind (timing, not memory).
 */
static int race_main(void) {
  const int rounds = 40;
  for (int i = 0; i < rounds; i++) {
    fflush(stdout);
    pid_t fresh = fork();
    if (fresh == 0) {
      pthread_t t;
      if (pthread_create(&t, NULL, start_and_stop_thread, NULL) != 0) _exit(2);
      usleep((useconds_t)(i * 25));
      pid_t child = fork();
      if (child == 0) {
        alarm(20);
        _exit(start_and_stop() ? 0 : 3);
      }
      int status = -1;
      int child_ok = child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
                     WEXITSTATUS(status) == 0;
      void *thread_ok = NULL;
      pthread_join(t, &thread_ok);
      _exit(!child_ok ? (WIFSIGNALED(status) ? 10 + WTERMSIG(status) : 4) : thread_ok ? 0 : 5);
    }
    int status = -1;
    CHECK(fresh > 0 && waitpid(fresh, &status, 0) == fresh && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "round %d: forked while the runtime was being built, the child started a server "
          "(exit %d; 10+N: killed by signal N; 24: by the alarm, it hung)",
          i, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return check_summary("test_fork --race");
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--race") == 0) return race_main();
  pushbus_server *server = NULL;
  pushbus_client *client = NULL;
  use_library("parent", &server, &client);
  pushbus_events *events = NULL;
  EXPECT_OK(pushbus_server_events(server, &events));

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int status = child_main(server, client, events);
    fflush(stdout);
    _exit(status);
  }
  CHECK(pid > 0, "fork");
  int status = -1;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "the child succeeded (status %d)", status);

  /* The parent's handles still work. */
  pushbus_str orders = pstr("orders");
  EXPECT_OK(pushbus_server_publish(server, S("3"), &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_OK(pushbus_client_trigger(client, &orders, 1, S("e"), S("{}"), NULL, 0));
  pushbus_event *ev = NULL;
  EXPECT(PUSHBUS_RESULT_TIMEOUT, pushbus_events_poll(events, 0, &ev)); /* usable: no events */
  pushbus_events_free(events);
  pushbus_client_free(client);
  pushbus_server_free(server);
  return check_summary("test_fork (parent)");
}
