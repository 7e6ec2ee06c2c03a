/*
 * The HTTP API client against a separately started `pushbus serve`: a pusher-js client
 * (the node driver) subscribes, C triggers single events, batches and user events
 * through a pushbus_client, queries channels and users, terminates connections; and
 * the client's network errors (refused, timeout, HTTP 401).
 *
 *   test_client <path of the pushbus binary> <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"


/* A local TCP socket bound to a free port; listening or not. Returns the fd. */
static int local_socket(int do_listen, uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      (do_listen && listen(fd, 4) != 0) || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static void network_errors(void) {
  uint16_t port = 0;
  pushbus_client *c = NULL;
  pushbus_str orders = pstr("orders");

  /* Nothing listens on a bound but not listening port: refused. */
  int closed_fd = local_socket(0, &port);
  CHECK(closed_fd >= 0, "socket");
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), port, false, S("3"), S(KEY), S(SECRET), 2000,
                               NULL, &c));
  EXPECT_ERR(PUSHBUS_RESULT_CONNECT, "connection failed",
             pushbus_client_trigger(c, &orders, 1, S("e"), S("{}"), NULL, 0));
  /* Queued: accepted at once, the failures come with the flush, each reported once. */
  EXPECT_OK(pushbus_client_trigger_queued(c, &orders, 1, S("e1"), S("{}"), NULL, 0));
  EXPECT_OK(pushbus_client_trigger_queued(c, &orders, 1, S("e2"), S("{}"), NULL, 0));
  size_t pending = 99;
  EXPECT_ERR(PUSHBUS_RESULT_CONNECT, "2 queued triggers failed",
             pushbus_client_flush(c, 10000, &pending));
  CHECK(pending == 99, "out_pending written on failure");
  EXPECT_OK(pushbus_client_flush(c, 0, &pending));
  CHECK(pending == 0, "nothing pending after the failures");
  pushbus_client_free(c);
  close(closed_fd);

  /* A server that accepts (in the kernel backlog) and never answers: timeout. */
  int silent_fd = local_socket(1, &port);
  CHECK(silent_fd >= 0, "socket");
  c = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), port, false, S("3"), S(KEY), S(SECRET), 300,
                               NULL, &c));
  long long start = now_ms();
  EXPECT_ERR(PUSHBUS_RESULT_TIMEOUT, "timed out",
             pushbus_client_trigger(c, &orders, 1, S("e"), S("{}"), NULL, 0));
  CHECK(now_ms() - start < 10000, "the timeout was honoured");
  /* Queued: still pending at once, then its own request times out. */
  EXPECT_OK(pushbus_client_trigger_queued(c, &orders, 1, S("e"), S("{}"), NULL, 0));
  pending = 0;
  EXPECT_OK(pushbus_client_flush(c, 0, &pending));
  CHECK(pending == 1, "one trigger pending (%zu)", pending);
  EXPECT_ERR(PUSHBUS_RESULT_TIMEOUT, "timed out", pushbus_client_flush(c, 10000, NULL));
  pushbus_client_free(c);
  close(silent_fd);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <pushbus binary> <driver.mjs>\n", argv[0]);
    return 2;
  }
  network_errors();

  /* `pushbus serve` in its own process, with the vectors' app, on a free port. */
  char *serve_argv[] = {argv[1],        "serve",    "--host", "127.0.0.1", "--port", "0",
                        "--env-file", "/dev/null", NULL};
  char *serve_env[] = {"REVERB_APP_ID=3", "REVERB_APP_KEY=" KEY, "REVERB_APP_SECRET=" SECRET,
                       NULL};
  child serve;
  if (!child_start(&serve, "pushbus serve", serve_argv, serve_env)) {
    CHECK(0, "cannot start pushbus serve");
    return check_summary("test_client");
  }
  const char *banner = child_expect(&serve, "pushbus ", HARNESS_TIMEOUT_MS);
  const char *at = banner ? strstr(banner, "listening on http://127.0.0.1:") : NULL;
  CHECK(at != NULL, "pushbus serve is listening");
  unsigned port = at ? (unsigned)atoi(at + strlen("listening on http://127.0.0.1:")) : 0;

  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", port);
  char *driver_argv[] = {"node", argv[2], port_arg, KEY, "orders,presence-chat.1", "7", NULL};
  child driver;
  if (!child_start(&driver, "pusher-js", driver_argv, NULL)) {
    CHECK(0, "cannot start the driver");
    child_signal(&serve, SIGTERM);
    child_stop(&serve, HARNESS_TIMEOUT_MS);
    return check_summary("test_client");
  }
  driver.on_auth = sign;
  const char *connected = child_expect(&driver, "connected ", HARNESS_TIMEOUT_MS);
  char socket_id[64] = "";
  if (connected) snprintf(socket_id, sizeof socket_id, "%s", connected + strlen("connected "));
  CHECK(child_expect(&driver, "subscribed orders", HARNESS_TIMEOUT_MS) != NULL, "orders");
  CHECK(child_expect(&driver, "subscribed presence-chat.1", HARNESS_TIMEOUT_MS) != NULL,
        "presence-chat.1");

  pushbus_client *client = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), (uint16_t)port, false, S("3"), S(KEY), S(SECRET),
                               0, NULL, &client));

  /* Excluded first, then delivered: the same connection keeps the order. */
  pushbus_str orders = pstr("orders");
  EXPECT_OK(pushbus_client_trigger(client, &orders, 1, S("skipped"), S("{}"), Z(socket_id)));
  EXPECT_OK(pushbus_client_trigger(client, &orders, 1, S("from-c"), S("{\"n\":1}"), NULL, 0));
  CHECK(child_expect(&driver, "event orders from-c {\"n\":1}", HARNESS_TIMEOUT_MS) != NULL,
        "triggered event received");
  CHECK(!child_seen(&driver, "event orders skipped"), "the excluded socket received nothing");

  pushbus_batch_event batch[2];
  memset(batch, 0, sizeof batch);
  batch[0].channel = pstr("orders");
  batch[0].name = pstr("batch-1");
  batch[0].data = pstr("{\"n\":2}");
  batch[1].channel = pstr("presence-chat.1");
  batch[1].name = pstr("batch-2");
  batch[1].data = pstr("{\"n\":3}");
  EXPECT_OK(pushbus_client_trigger_batch(client, batch, 2));
  CHECK(child_expect(&driver, "event orders batch-1 {\"n\":2}", HARNESS_TIMEOUT_MS) != NULL,
        "batch event 1 received");
  CHECK(child_expect(&driver, "event presence-chat.1 batch-2 {\"n\":3}", HARNESS_TIMEOUT_MS) !=
            NULL,
        "batch event 2 received");
  EXPECT_OK(pushbus_client_send_to_user(client, S("7"), S("note"), S("{}")));

  /* Queued triggers: checked at once, sent in order in the background, flushed. */
  size_t pending = 99;
  EXPECT_OK(pushbus_client_flush(client, 0, &pending)); /* nothing queued yet */
  CHECK(pending == 0, "nothing pending");
  pushbus_str bad = pstr("bad name");
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "invalid channel name",
             pushbus_client_trigger_queued(client, &bad, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_OK(pushbus_client_trigger_queued(client, &orders, 1, S("queued"), S("{\"n\":1}"),
                                          NULL, 0));
  EXPECT_OK(pushbus_client_trigger_queued(client, &orders, 1, S("queued"), S("{\"n\":2}"),
                                          NULL, 0));
  EXPECT_OK(pushbus_client_trigger_queued(client, &orders, 1, S("queued"), S("{\"n\":3}"),
                                          NULL, 0));
  EXPECT_OK(pushbus_client_flush(client, HARNESS_TIMEOUT_MS, &pending));
  CHECK(pending == 0, "all answered");
  CHECK(child_expect(&driver, "event orders queued {\"n\":1}", HARNESS_TIMEOUT_MS) != NULL,
        "queued 1");
  CHECK(child_expect(&driver, "event orders queued {\"n\":2}", HARNESS_TIMEOUT_MS) != NULL,
        "queued 2");
  CHECK(child_expect(&driver, "event orders queued {\"n\":3}", HARNESS_TIMEOUT_MS) != NULL,
        "queued 3");

  /* Queries answer with the server's JSON. */
  char *json = NULL;
  EXPECT_OK(pushbus_client_channels(client, NULL, 0, NULL, 0, &json));
  CHECK(json && strstr(json, "\"orders\"") && strstr(json, "\"presence-chat.1\""), "channels %s",
        json ? json : "(null)");
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_channel(client, S("presence-chat.1"), S("user_count"), &json));
  CHECK(json && strstr(json, "\"user_count\":1") && strstr(json, "\"occupied\":true"),
        "channel %s", json ? json : "(null)");
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_users(client, S("presence-chat.1"), &json));
  CHECK(json && strcmp(json, "{\"users\":[{\"id\":\"7\"}]}") == 0, "users %s",
        json ? json : "(null)");
  pushbus_string_free(json);
  json = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "400",
             pushbus_client_channel(client, S("orders"), S("bogus"), &json));
  CHECK(json == NULL, "out_json written on failure");

  /* The server refuses a wrong secret with 401, and the message says why. */
  pushbus_client *wrong = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), (uint16_t)port, false, S("3"), S(KEY),
                               S("not-the-secret"), 0, NULL, &wrong));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "401",
             pushbus_client_trigger(wrong, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_OK(pushbus_client_trigger_queued(wrong, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "401",
             pushbus_client_flush(wrong, HARNESS_TIMEOUT_MS, NULL));
  pushbus_client_free(wrong);

  /* Terminating user 7 closes the pusher-js connection. */
  EXPECT_OK(pushbus_client_terminate_user_connections(client, S("7")));
  CHECK(child_expect(&driver, "closed", HARNESS_TIMEOUT_MS) != NULL, "user 7 disconnected");
  pushbus_client_free(client);

  CHECK(child_stop(&driver, HARNESS_TIMEOUT_MS) == 0, "driver exited cleanly");
  child_signal(&serve, SIGTERM);
  CHECK(child_stop(&serve, HARNESS_TIMEOUT_MS) == 0, "pushbus serve exited cleanly");
  return check_summary("test_client");
}
