/*
 * Two embedded servers on one real redis-server, through the same JSON config as
 * `pushbus serve` (its "cluster" key): a pusher-js client (the node driver) on server
 * A is seen by server B's queries, and an event published by B reaches it.
 *
 *   test_cluster <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"


/* A port nothing listens on now (the kernel's choice for port 0). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
      getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* Whether something accepts connections on 127.0.0.1:port within timeout_ms. */
static bool listening(int port, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    if (fd >= 0) close(fd);
    if (ok) return true;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return false;
}

static pushbus_server *start_node(int redis_port, uint16_t *port) {
  char config[512];
  snprintf(config, sizeof config,
           "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":[{\"id\":\"3\",\"key\":\"" KEY
           "\",\"secret\":\"" SECRET "\"}],\"cluster\":{\"redis_url\":"
           "\"redis://127.0.0.1:%d\",\"prefix\":\"c-test\",\"node_lease\":5}}",
           redis_port);
  pushbus_server *server = NULL;
  EXPECT_OK(pushbus_server_new(Z(config), &server));
  if (server) EXPECT_OK(pushbus_server_start(server, NULL, 0, port));
  return server;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <driver.mjs>\n", argv[0]);
    return 2;
  }
  int redis_port = free_port();
  char redis_port_arg[16];
  snprintf(redis_port_arg, sizeof redis_port_arg, "%d", redis_port);
  char *redis_argv[] = {"redis-server", "--port", redis_port_arg, "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--loglevel", "warning", NULL};
  child redis;
  if (!child_start(&redis, "redis-server", redis_argv, NULL) ||
      !listening(redis_port, HARNESS_TIMEOUT_MS)) {
    CHECK(0, "redis-server on port %d (install Debian's redis-server)", redis_port);
    return check_summary("test_cluster");
  }

  uint16_t port_a = 0, port_b = 0;
  pushbus_server *a = start_node(redis_port, &port_a);
  pushbus_server *b = start_node(redis_port, &port_b);
  if (!a || !b) {
    pushbus_server_free(a);
    pushbus_server_free(b);
    child_signal(&redis, SIGKILL);
    child_stop(&redis, HARNESS_TIMEOUT_MS);
    return check_summary("test_cluster");
  }

  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port_a);
  char *driver_argv[] = {"node", argv[1], port_arg, KEY, "orders,presence-chat.1", "7", NULL};
  child driver;
  bool driven = child_start(&driver, "pusher-js", driver_argv, NULL);
  CHECK(driven, "cannot start the driver");
  if (driven) {
    driver.on_auth = sign;
    CHECK(child_expect(&driver, "connected ", HARNESS_TIMEOUT_MS) != NULL, "pusher-js on A");
    CHECK(child_expect(&driver, "subscribed orders", HARNESS_TIMEOUT_MS) != NULL, "orders");
    CHECK(child_expect(&driver, "subscribed presence-chat.1", HARNESS_TIMEOUT_MS) != NULL,
          "presence-chat.1");

    /* B answers for A's client: its queries read Redis (from this C thread). */
    pushbus_channel_info info;
    EXPECT_OK(pushbus_server_channel(b, S("3"), S("presence-chat.1"), &info));
    CHECK(info.occupied && info.presence && info.user_count == 1, "presence info on B");
    char *json = NULL;
    EXPECT_OK(pushbus_server_members(b, S("3"), S("presence-chat.1"), &json));
    CHECK(json && strcmp(json, "{\"users\":[{\"id\":\"7\",\"info\":{\"name\":\"Ada\"}}]}") == 0,
          "members on B: %s", json ? json : "(null)");
    pushbus_string_free(json);
    size_t count = 0;
    EXPECT_OK(pushbus_server_connection_count(b, S("3"), &count));
    CHECK(count == 1, "connection count on B: %zu", count);

    /* Published through B, delivered by A. */
    pushbus_str orders[1] = {pstr("orders")};
    EXPECT_OK(pushbus_server_publish(b, S("3"), orders, 1, S("greeting"),
                                     S("{\"text\":\"hello from B\"}"), NULL, 0));
    CHECK(child_expect(&driver, "event orders greeting {\"text\":\"hello from B\"}",
                       HARNESS_TIMEOUT_MS) != NULL,
          "the event crossed from B to A");
    CHECK(child_stop(&driver, HARNESS_TIMEOUT_MS) == 0, "driver exited cleanly");
  }

  EXPECT_OK(pushbus_server_stop(a));
  EXPECT_OK(pushbus_server_stop(b));
  pushbus_server_free(a);
  pushbus_server_free(b);
  child_signal(&redis, SIGKILL);
  child_stop(&redis, HARNESS_TIMEOUT_MS);
  return check_summary("test_cluster");
}
