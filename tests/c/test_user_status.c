/*
 * Who is online, through both faces of the C API: C starts a server, real pusher-js
 * clients (the node driver) join presence channels as users 7 (two connections) and 8,
 * and C reads their status and the online users, sets and clears a location, through
 * pushbus_server_* and through a pushbus_client_* of the same server's HTTP API; once
 * user 7's connections close, 7 is offline with a last_seen.
 *
 *   test_user_status <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"

#define CONFIG                                                                       \
  "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":[{\"id\":\"3\",\"key\":\"" KEY "\"," \
  "\"secret\":\"" SECRET "\"}]}"

#define SHOW(json) ((json) ? (json) : "(null)")

/* Milliseconds since the Unix epoch (what last_seen counts). */
static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's status of `user` once it contains `needle` (polled, bounded by the
 * harness timeout); the last one read otherwise. The caller frees it. */
static char *status_once(pushbus_server *server, const char *user, const char *needle) {
  long long deadline = now_ms() + HARNESS_TIMEOUT_MS;
  char *json = NULL;
  for (;;) {
    pushbus_string_free(json);
    json = NULL;
    EXPECT_OK(pushbus_server_user_status(server, S("3"), Z(user), &json));
    if (json == NULL || strstr(json, needle) || now_ms() >= deadline) return json;
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
  }
}

/* Starts a driver present in `channels` as `user`; waits for each subscription. */
static bool present(child *c, const char *name, const char *driver, const char *port,
                    char *channels, const char *user) {
  char *argv[] = {"node", (char *)driver, (char *)port, KEY, channels, (char *)user, NULL};
  if (!child_start(c, name, argv, NULL)) {
    CHECK(0, "cannot start %s", name);
    return false;
  }
  c->on_auth = sign;
  char want[300];
  char list[256];
  snprintf(list, sizeof list, "%s", channels);
  for (char *ch = strtok(list, ","); ch; ch = strtok(NULL, ",")) {
    snprintf(want, sizeof want, "subscribed %s", ch);
    CHECK(child_expect(c, want, HARNESS_TIMEOUT_MS) != NULL, "%s: %s", name, want);
  }
  return true;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <driver.mjs>\n", argv[0]);
    return 2;
  }
  pushbus_server *server = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &server));
  if (!server) return check_summary("test_user_status");
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_start(server, NULL, 0, &port));
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port);
  pushbus_client *client = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), port, false, S("3"), S(KEY), S(SECRET), 0, NULL,
                               &client));

  /* Never seen: offline, nothing else known. */
  char *json = NULL;
  EXPECT_OK(pushbus_server_user_status(server, S("3"), S("7"), &json));
  CHECK(json && strcmp(json, "{\"id\":\"7\",\"online\":false,\"connections\":0,\"channels\":[]}") == 0,
        "status of a user never seen: %s", SHOW(json));
  pushbus_string_free(json);

  /* User 7 in two tabs (two presence channels), user 8 in one. */
  child tab1, tab2, other;
  char ch1[] = "presence-chat.1", ch2[] = "presence-chat.2", ch3[] = "presence-chat.1";
  bool up1 = present(&tab1, "pusher-js 7 #1", argv[1], port_arg, ch1, "7");
  bool up2 = present(&tab2, "pusher-js 7 #2", argv[1], port_arg, ch2, "7");
  bool up3 = present(&other, "pusher-js 8", argv[1], port_arg, ch3, "8");

  json = status_once(server, "7", "\"connections\":2");
  CHECK(json && strcmp(json, "{\"id\":\"7\",\"online\":true,\"connections\":2,"
                             "\"channels\":[\"presence-chat.1\",\"presence-chat.2\"],"
                             "\"info\":{\"name\":\"Ada\"}}") == 0,
        "server: status of 7 in two tabs: %s", SHOW(json));
  pushbus_string_free(json);
  json = status_once(server, "8", "\"online\":true");
  pushbus_string_free(json);

  /* The online users, a page of one at a time: `next` leads to the second page. */
  json = NULL;
  EXPECT_OK(pushbus_server_online_users(server, S("3"), NULL, 0, 1, &json));
  CHECK(json && strcmp(json, "{\"users\":[{\"id\":\"7\",\"connections\":2,\"info\":{\"name\":"
                             "\"Ada\"}}],\"next\":\"7\"}") == 0,
        "server: first page %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_server_online_users(server, S("3"), S("7"), 1, &json));
  CHECK(json && strcmp(json, "{\"users\":[{\"id\":\"8\",\"connections\":1,\"info\":{\"name\":"
                             "\"Ada\"}}]}") == 0,
        "server: last page %s", SHOW(json));
  pushbus_string_free(json);

  /* A location, through the server... */
  bool online = false;
  EXPECT_OK(pushbus_server_set_user_location(server, S("3"), S("7"), S("Projects"), &online));
  CHECK(online, "server: 7 was online");
  json = NULL;
  EXPECT_OK(pushbus_server_user_status(server, S("3"), S("7"), &json));
  CHECK(json && strcmp(json, "{\"id\":\"7\",\"online\":true,\"connections\":2,"
                             "\"channels\":[\"presence-chat.1\",\"presence-chat.2\"],"
                             "\"location\":\"Projects\",\"info\":{\"name\":\"Ada\"}}") == 0,
        "server: status with the location: %s", SHOW(json));
  pushbus_string_free(json);

  /* ... and the same through the client (the server's JSON answer: keys sorted). */
  json = NULL;
  EXPECT_OK(pushbus_client_user_status(client, S("7"), &json));
  CHECK(json && strcmp(json, "{\"channels\":[\"presence-chat.1\",\"presence-chat.2\"],"
                             "\"connections\":2,\"id\":\"7\",\"info\":{\"name\":\"Ada\"},"
                             "\"location\":\"Projects\",\"online\":true}") == 0,
        "client: status with the location: %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_online_users(client, NULL, 0, 1, &json));
  CHECK(json && strcmp(json, "{\"next\":\"7\",\"users\":[{\"connections\":2,\"id\":\"7\",\"info\":"
                             "{\"name\":\"Ada\"},\"location\":\"Projects\"}]}") == 0,
        "client: first page %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_online_users(client, S("7"), 1, &json));
  CHECK(json && strcmp(json, "{\"users\":[{\"connections\":1,\"id\":\"8\",\"info\":{\"name\":"
                             "\"Ada\"}}]}") == 0,
        "client: last page %s", SHOW(json));
  pushbus_string_free(json);

  /* Cleared by the server (NULL location), set by the client, cleared by the client. */
  EXPECT_OK(pushbus_server_set_user_location(server, S("3"), S("7"), NULL, 0, NULL));
  json = NULL;
  EXPECT_OK(pushbus_server_user_status(server, S("3"), S("7"), &json));
  CHECK(json && !strstr(json, "location"), "server: location cleared: %s", SHOW(json));
  pushbus_string_free(json);
  online = false;
  EXPECT_OK(pushbus_client_set_user_location(client, S("8"), S("Inbox"), &online));
  CHECK(online, "client: 8 was online");
  json = NULL;
  EXPECT_OK(pushbus_server_online_users(server, S("3"), S("7"), 1, &json));
  CHECK(json && strstr(json, "{\"id\":\"8\",\"connections\":1,\"location\":\"Inbox\","),
        "server sees the client's location: %s", SHOW(json));
  pushbus_string_free(json);
  EXPECT_OK(pushbus_client_set_user_location(client, S("8"), NULL, 0, &online));
  json = NULL;
  EXPECT_OK(pushbus_client_user_status(client, S("8"), &json));
  CHECK(json && !strstr(json, "location") && strstr(json, "\"online\":true"),
        "client: location cleared: %s", SHOW(json));
  pushbus_string_free(json);

  /* Refusals: the server's checks, as result codes (the client: the HTTP 400). */
  json = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit",
             pushbus_server_online_users(server, S("3"), NULL, 0, 0, &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit",
             pushbus_server_online_users(server, S("3"), NULL, 0, 1001, &json));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "400",
             pushbus_client_online_users(client, NULL, 0, 0, &json));
  char long_id[201];
  memset(long_id, 'x', 200);
  long_id[200] = '\0';
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "user id",
             pushbus_server_user_status(server, S("3"), Z(long_id), &json));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "user id",
             pushbus_client_user_status(client, Z(long_id), &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "empty",
             pushbus_client_user_status(client, S(""), &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "location",
             pushbus_server_set_user_location(server, S("3"), S("7"), S("a\nb"), &online));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "location",
             pushbus_client_set_user_location(client, S("7"), S("a\nb"), &online));
  EXPECT_ERR(PUSHBUS_RESULT_UNKNOWN_APP, "Unknown app",
             pushbus_server_user_status(server, S("4"), S("7"), &json));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_json`",
             pushbus_server_user_status(server, S("3"), S("7"), NULL));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`user_id`",
             pushbus_client_set_user_location(client, NULL, 0, NULL, 0, &online));
  CHECK(json == NULL, "out_json untouched on failure");

  /* User 7 closes both tabs: offline, with when it was last seen; its location gone. */
  long long before = wall_ms();
  if (up1) {
    child_send(&tab1, "quit");
    CHECK(child_stop(&tab1, HARNESS_TIMEOUT_MS) == 0, "tab 1 exited cleanly");
  }
  if (up2) {
    child_send(&tab2, "quit");
    CHECK(child_stop(&tab2, HARNESS_TIMEOUT_MS) == 0, "tab 2 exited cleanly");
  }
  json = status_once(server, "7", "\"online\":false");
  const char *seen = json ? strstr(json, "\"last_seen\":") : NULL;
  long long last_seen = seen ? atoll(seen + strlen("\"last_seen\":")) : 0;
  CHECK(json && strstr(json, "{\"id\":\"7\",\"online\":false,\"connections\":0,\"channels\":[],") ==
                    json && !strstr(json, "location") && !strstr(json, "info"),
        "server: 7 offline: %s", SHOW(json));
  CHECK(last_seen >= before - 1000 && last_seen <= wall_ms() + 1000, "last_seen %lld (closed at %lld)",
        last_seen, before);
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_user_status(client, S("7"), &json));
  CHECK(json && strstr(json, "\"last_seen\":") && strstr(json, "\"online\":false"),
        "client: 7 offline: %s", SHOW(json));
  pushbus_string_free(json);
  online = true;
  EXPECT_OK(pushbus_server_set_user_location(server, S("3"), S("7"), S("Projects"), &online));
  CHECK(!online, "server: a location for an offline user is not kept");
  online = true;
  EXPECT_OK(pushbus_client_set_user_location(client, S("7"), S("Projects"), &online));
  CHECK(!online, "client: a location for an offline user is not kept");
  json = NULL;
  EXPECT_OK(pushbus_server_online_users(server, S("3"), NULL, 0, 100, &json));
  CHECK(json && strcmp(json, "{\"users\":[{\"id\":\"8\",\"connections\":1,\"info\":{\"name\":"
                             "\"Ada\"}}]}") == 0,
        "server: only 8 online: %s", SHOW(json));
  pushbus_string_free(json);

  if (up3) {
    child_send(&other, "quit");
    CHECK(child_stop(&other, HARNESS_TIMEOUT_MS) == 0, "user 8's driver exited cleanly");
  }
  pushbus_client_free(client);
  EXPECT_OK(pushbus_server_stop(server));
  pushbus_server_free(server);
  return check_summary("test_user_status");
}
