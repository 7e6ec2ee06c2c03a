/*
 * Channel history, through both faces of the C API: C starts a server whose app keeps
 * the last 3 events of "activity" (rewinding 2 to each new subscriber) and the last 100
 * of every "private-activity.*" channel. A real pusher-js client (the node driver)
 * subscribed to "activity" receives what C publishes, through the server and through a
 * pushbus_client of its HTTP API; pushbus_server_history and pushbus_client_history
 * then report the same serials and epoch, `since` and `limit` filter, the rule's bound
 * drops the oldest, and a second pusher-js client subscribing later is given the last
 * two. Channels without a rule, bad names and limits out of range are refused.
 *
 *   test_history <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"

#define CONFIG                                                                              \
  "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":["                                         \
  "{\"id\":\"3\",\"key\":\"" KEY "\",\"secret\":\"" SECRET "\",\"history\":["              \
  "{\"channels\":\"activity\",\"events\":3,\"ttl\":3600,\"rewind\":2},"                    \
  "{\"channels\":\"private-activity.*\",\"events\":100,\"ttl\":3600}]}]}"

#define SHOW(json) ((json) ? (json) : "(null)")

/* The value of `"epoch":"…"` in `json`, copied into `out`; false when there is none. */
static bool epoch_of(const char *json, char *out, size_t size) {
  const char *e = json ? strstr(json, "\"epoch\":\"") : NULL;
  if (!e) return false;
  e += strlen("\"epoch\":\"");
  const char *end = strchr(e, '"');
  if (!end || end == e || (size_t)(end - e) >= size) return false;
  memcpy(out, e, (size_t)(end - e));
  out[end - e] = '\0';
  return true;
}

/* How many times `needle` occurs in `json`. */
static int count(const char *json, const char *needle) {
  int n = 0;
  for (const char *p = json; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* Starts a driver subscribed to "activity"; false when it cannot be started. */
static bool subscriber(child *c, const char *name, const char *driver, const char *port) {
  char *argv[] = {"node", (char *)driver, (char *)port, KEY, "activity", NULL};
  if (!child_start(c, name, argv, NULL)) {
    CHECK(0, "cannot start %s", name);
    return false;
  }
  c->on_auth = sign;
  CHECK(child_expect(c, "connected ", HARNESS_TIMEOUT_MS) != NULL, "%s connected", name);
  CHECK(child_expect(c, "subscribed activity", HARNESS_TIMEOUT_MS) != NULL, "%s: subscribed",
        name);
  return true;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <driver.mjs>\n", argv[0]);
    return 2;
  }
  pushbus_server *server = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &server));
  if (!server) return check_summary("test_history");
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_start(server, NULL, 0, &port));
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port);
  pushbus_client *client = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), port, false, S("3"), S(KEY), S(SECRET), 0, NULL,
                               &client));

  /* Nothing published yet: serial 0, no epoch, no events, through both faces. */
  char *json = NULL;
  EXPECT_OK(pushbus_server_history(server, S("3"), S("activity"), 0, 100, &json));
  CHECK(json && strcmp(json, "{\"channel\":\"activity\",\"serial\":0,\"events\":[]}") == 0,
        "server: empty history %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_history(client, S("activity"), 0, 0, &json));
  CHECK(json && strcmp(json, "{\"channel\":\"activity\",\"events\":[],\"serial\":0}") == 0,
        "client: empty history %s", SHOW(json));
  pushbus_string_free(json);

  child first;
  if (!subscriber(&first, "pusher-js #1", argv[1], port_arg)) return check_summary("test_history");

  /* Two through the server, then two through the client: serials 1 to 4, received live. */
  pushbus_str activity = pstr("activity");
  EXPECT_OK(pushbus_server_publish(server, S("3"), &activity, 1, S("ActivityFeedUpdated"),
                                   S("{\"n\":1}"), NULL, 0));
  EXPECT_OK(pushbus_server_publish(server, S("3"), &activity, 1, S("ActivityFeedUpdated"),
                                   S("{\"n\":2}"), NULL, 0));
  for (int n = 1; n <= 2; n++) {
    char want[64];
    snprintf(want, sizeof want, "event activity ActivityFeedUpdated {\"n\":%d}", n);
    const char *got = child_expect(&first, "event ", HARNESS_TIMEOUT_MS);
    CHECK(got && strcmp(got, want) == 0, "#1 got n=%d next: %s", n, SHOW(got));
  }

  /* The server's view: both events, oldest first, serial 2, an epoch. */
  json = NULL;
  EXPECT_OK(pushbus_server_history(server, S("3"), S("activity"), 0, 100, &json));
  char epoch[128] = "";
  CHECK(epoch_of(json, epoch, sizeof epoch), "server: an epoch %s", SHOW(json));
  const char *s1 = json ? strstr(json, "{\"serial\":1,\"time\":") : NULL;
  const char *s2 = json ? strstr(json, "{\"serial\":2,\"time\":") : NULL;
  CHECK(json && strncmp(json, "{\"channel\":\"activity\",\"epoch\":\"", 31) == 0 &&
            strstr(json, "\",\"serial\":2,\"events\":[{") && s1 && s2 && s1 < s2 &&
            strstr(s1, ",\"event\":\"ActivityFeedUpdated\",\"data\":\"{\\\"n\\\":1}\"}") &&
            strstr(s2, ",\"event\":\"ActivityFeedUpdated\",\"data\":\"{\\\"n\\\":2}\"}]}") &&
            count(json, "\"serial\":") == 3,
        "server: two events %s", SHOW(json));
  pushbus_string_free(json);

  EXPECT_OK(pushbus_client_trigger(client, &activity, 1, S("ActivityFeedUpdated"),
                                   S("{\"n\":3}"), NULL, 0));
  EXPECT_OK(pushbus_client_trigger(client, &activity, 1, S("ActivityFeedUpdated"),
                                   S("{\"n\":4}"), NULL, 0));
  for (int n = 3; n <= 4; n++) {
    char want[64];
    snprintf(want, sizeof want, "event activity ActivityFeedUpdated {\"n\":%d}", n);
    const char *got = child_expect(&first, "event ", HARNESS_TIMEOUT_MS);
    CHECK(got && strcmp(got, want) == 0, "#1 got n=%d next: %s", n, SHOW(got));
  }

  /* The rule keeps 3: serials 2 to 4, in the same epoch; the last serial is 4. */
  json = NULL;
  EXPECT_OK(pushbus_server_history(server, S("3"), S("activity"), 0, 100, &json));
  char again[128] = "";
  CHECK(epoch_of(json, again, sizeof again) && strcmp(epoch, again) == 0,
        "server: the same epoch %s (was %s)", SHOW(json), epoch);
  const char *s4 = json ? strstr(json, "{\"serial\":4,\"time\":") : NULL;
  s2 = json ? strstr(json, "{\"serial\":2,\"time\":") : NULL;
  CHECK(json && strstr(json, "\",\"serial\":4,\"events\":[{\"serial\":2,") && s2 && s4 &&
            s2 < s4 && !strstr(json, "{\"serial\":1,") && count(json, "\"serial\":") == 4 &&
            strstr(s4, "\"data\":\"{\\\"n\\\":4}\"}]}"),
        "server: the last 3 %s", SHOW(json));
  pushbus_string_free(json);

  /* since and limit: after serial 2, at most 1 -> only serial 3; after 4 -> none. */
  json = NULL;
  EXPECT_OK(pushbus_server_history(server, S("3"), S("activity"), 2, 1, &json));
  CHECK(json && strstr(json, "\",\"serial\":4,\"events\":[{\"serial\":3,") &&
            strstr(json, "\"data\":\"{\\\"n\\\":3}\"}]}") && count(json, "\"serial\":") == 2,
        "server: since 2, limit 1 %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_server_history(server, S("3"), S("activity"), 4, 10, &json));
  CHECK(json && strstr(json, "\",\"serial\":4,\"events\":[]}"), "server: since 4 %s", SHOW(json));
  pushbus_string_free(json);

  /* The client: the server's JSON answer (keys sorted), the same epoch and serials. */
  json = NULL;
  EXPECT_OK(pushbus_client_history(client, S("activity"), 2, 0, &json));
  char head[256];
  snprintf(head, sizeof head, "{\"channel\":\"activity\",\"epoch\":\"%s\",\"events\":[", epoch);
  s4 = json ? strstr(json, "{\"data\":\"{\\\"n\\\":4}\",\"event\":\"ActivityFeedUpdated\","
                           "\"serial\":4,\"time\":")
            : NULL;
  const char *s3 = json ? strstr(json, "{\"data\":\"{\\\"n\\\":3}\",\"event\":\"ActivityFeedUpdated\","
                                       "\"serial\":3,\"time\":")
                        : NULL;
  CHECK(json && strncmp(json, head, strlen(head)) == 0 && s3 && s4 && s3 < s4 &&
            strstr(json, "}],\"serial\":4}") && count(json, "\"serial\":") == 3,
        "client: since 2 %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_history(client, S("activity"), 0, 1, &json));
  CHECK(json && strstr(json, "\"serial\":2,") && count(json, "\"serial\":") == 2,
        "client: limit 1 %s", SHOW(json));
  pushbus_string_free(json);

  /* A later subscriber is given the rule's rewind: the last two, in order. */
  child second;
  if (!subscriber(&second, "pusher-js #2", argv[1], port_arg)) return check_summary("test_history");
  for (int n = 3; n <= 4; n++) {
    char want[64];
    snprintf(want, sizeof want, "event activity ActivityFeedUpdated {\"n\":%d}", n);
    const char *got = child_expect(&second, "event ", HARNESS_TIMEOUT_MS);
    CHECK(got && strcmp(got, want) == 0, "#2 rewound n=%d next: %s", n, SHOW(got));
  }
  CHECK(!child_seen(&second, "event activity ActivityFeedUpdated {\"n\":2}"),
        "#2 was not given n=2");

  /* A wildcard rule: each private-activity channel has its own serials and epoch. */
  pushbus_str client_feed = pstr("private-activity.client.7");
  EXPECT_OK(pushbus_server_publish(server, S("3"), &client_feed, 1, S("ActivityFeedUpdated"),
                                   S("{\"c\":7}"), NULL, 0));
  json = NULL;
  EXPECT_OK(pushbus_client_history(client, S("private-activity.client.7"), 0, 0, &json));
  char other[128] = "";
  CHECK(json && epoch_of(json, other, sizeof other) && strcmp(other, epoch) != 0 &&
            strstr(json, "{\"data\":\"{\\\"c\\\":7}\",\"event\":\"ActivityFeedUpdated\","
                         "\"serial\":1,\"time\":") &&
            strstr(json, "}],\"serial\":1}"),
        "client: private-activity.client.7 %s", SHOW(json));
  pushbus_string_free(json);

  /* Refusals, as result codes (the client: its own check, or the server's 400). */
  json = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "no history rule",
             pushbus_server_history(server, S("3"), S("orders"), 0, 10, &json));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "400",
             pushbus_client_history(client, S("orders"), 0, 10, &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit",
             pushbus_server_history(server, S("3"), S("activity"), 0, 0, &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit",
             pushbus_server_history(server, S("3"), S("activity"), 0, 1001, &json));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "limit",
             pushbus_client_history(client, S("activity"), 0, 1001, &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "bad name",
             pushbus_server_history(server, S("3"), S("bad name"), 0, 10, &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "bad name",
             pushbus_client_history(client, S("bad name"), 0, 10, &json));
  EXPECT_ERR(PUSHBUS_RESULT_UNKNOWN_APP, "Unknown app",
             pushbus_server_history(server, S("6"), S("activity"), 0, 10, &json));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_json`",
             pushbus_server_history(server, S("3"), S("activity"), 0, 10, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_json`",
             pushbus_client_history(client, S("activity"), 0, 10, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`channel`",
             pushbus_server_history(server, S("3"), NULL, 0, 0, 10, &json));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`server`",
             pushbus_server_history(NULL, S("3"), S("activity"), 0, 10, &json));
  CHECK(json == NULL, "out_json untouched on failure");

  child_send(&second, "quit");
  CHECK(child_stop(&second, HARNESS_TIMEOUT_MS) == 0, "driver #2 exited cleanly");
  pushbus_client_free(client);
  child_send(&first, "quit");
  CHECK(child_stop(&first, HARNESS_TIMEOUT_MS) == 0, "driver #1 exited cleanly");
  EXPECT_OK(pushbus_server_stop(server));
  pushbus_server_free(server);
  return check_summary("test_history");
}
