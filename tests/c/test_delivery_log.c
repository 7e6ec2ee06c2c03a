/*
 * The delivery log, through both faces of the C API: C starts a server, three real
 * pusher-js clients (the node driver) subscribe to "orders", C publishes one event
 * excluding the third client's socket and another to all, and reads what the log
 * recorded (newest first; delivered counts; the data's SHA-256, never the data) through
 * pushbus_server_delivery_log and through a pushbus_client_delivery_log of the same
 * server's HTTP API. The event_logged lifecycle event carries the same record. An app
 * that keeps payloads logs the data itself; one with `size` 0 logs nothing.
 *
 *   test_delivery_log <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"

#define CONFIG                                                                              \
  "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":["                                         \
  "{\"id\":\"3\",\"key\":\"" KEY "\",\"secret\":\"" SECRET "\","                           \
  "\"delivery_log\":{\"size\":10,\"events\":true}},"                                       \
  "{\"id\":\"4\",\"key\":\"key-4\",\"secret\":\"secret-4\","                               \
  "\"delivery_log\":{\"payloads\":\"payload\"}},"                                          \
  "{\"id\":\"5\",\"key\":\"key-5\",\"secret\":\"secret-5\",\"delivery_log\":{\"size\":0}}]}"

#define SHOW(json) ((json) ? (json) : "(null)")

/* SHA-256 of {"n":1} and {"n":2}. */
#define DIGEST_1 "2bfd14f43d17fc7cea24e0917a8879b4b2f880b8baeec1b9d90fbaad655e71bd"
#define DIGEST_2 "363379742f80b51bdb9206579af7754911543079b9399cb3fc315fb199f476e8"

/* Whether `json` has a "digest" of exactly 64 lowercase hex digits. */
static bool has_hex_digest(const char *json) {
  const char *d = json ? strstr(json, "\"digest\":\"") : NULL;
  if (!d) return false;
  d += strlen("\"digest\":\"");
  for (int i = 0; i < 64; i++) {
    if (!isxdigit((unsigned char)d[i]) || isupper((unsigned char)d[i])) return false;
  }
  return d[64] == '"';
}

/* Polls until an event of `kind` arrives; bounded. Other events are skipped. */
static pushbus_event *poll_for(pushbus_events *events, pushbus_event_kind kind) {
  long long deadline = now_ms() + HARNESS_TIMEOUT_MS;
  while (now_ms() < deadline) {
    pushbus_event *ev = NULL;
    pushbus_result r = pushbus_events_poll(events, 500, &ev);
    if (r == PUSHBUS_RESULT_TIMEOUT) continue;
    if (r != PUSHBUS_RESULT_OK) {
      fprintf(stderr, "poll: %s\n", pushbus_last_error_message());
      return NULL;
    }
    if (ev->kind == kind) return ev;
    pushbus_event_free(ev);
  }
  fprintf(stderr, "poll: no event of kind %u within the timeout\n", (unsigned)kind);
  return NULL;
}

/* Starts a driver subscribed to "orders" and writes its socket id; false when it
 * cannot be started. */
static bool subscriber(child *c, const char *name, const char *driver, const char *port,
                       char *socket_id, size_t socket_id_size) {
  char *argv[] = {"node", (char *)driver, (char *)port, KEY, "orders", NULL};
  if (!child_start(c, name, argv, NULL)) {
    CHECK(0, "cannot start %s", name);
    return false;
  }
  c->on_auth = sign;
  const char *connected = child_expect(c, "connected ", HARNESS_TIMEOUT_MS);
  CHECK(connected != NULL, "%s connected", name);
  if (connected) snprintf(socket_id, socket_id_size, "%s", connected + strlen("connected "));
  CHECK(child_expect(c, "subscribed orders", HARNESS_TIMEOUT_MS) != NULL, "%s: subscribed", name);
  return true;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <driver.mjs>\n", argv[0]);
    return 2;
  }
  pushbus_server *server = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &server));
  if (!server) return check_summary("test_delivery_log");
  pushbus_events *events = NULL;
  EXPECT_OK(pushbus_server_events(server, &events));
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_start(server, NULL, 0, &port));
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port);
  pushbus_client *client = NULL;
  EXPECT_OK(pushbus_client_new(S("127.0.0.1"), port, false, S("3"), S(KEY), S(SECRET), 0, NULL,
                               &client));

  /* Nothing published yet: an empty log. */
  char *json = NULL;
  EXPECT_OK(pushbus_server_delivery_log(server, S("3"), 10, &json));
  CHECK(json && strcmp(json, "{\"events\":[]}") == 0, "server: empty log %s", SHOW(json));
  pushbus_string_free(json);

  child subs[3];
  char sockets[3][64] = {"", "", ""};
  bool up[3];
  static const char *const names[3] = {"pusher-js #1", "pusher-js #2", "pusher-js #3"};
  for (int i = 0; i < 3; i++) {
    up[i] = subscriber(&subs[i], names[i], argv[1], port_arg, sockets[i], sizeof sockets[i]);
    if (!up[i]) return check_summary("test_delivery_log");
  }

  /* "paid" to everyone but the third; then "shipped" to all three. */
  pushbus_str orders = pstr("orders");
  EXPECT_OK(pushbus_server_publish(server, S("3"), &orders, 1, S("paid"), S("{\"n\":1}"),
                                   Z(sockets[2])));
  CHECK(child_expect(&subs[0], "event orders paid {\"n\":1}", HARNESS_TIMEOUT_MS) != NULL,
        "#1 got paid");
  CHECK(child_expect(&subs[1], "event orders paid {\"n\":1}", HARNESS_TIMEOUT_MS) != NULL,
        "#2 got paid");

  /* The record of "paid": 2 connections on 1 node, the excluded socket, the digest. */
  json = NULL;
  EXPECT_OK(pushbus_server_delivery_log(server, S("3"), 1, &json));
  char want[512];
  snprintf(want, sizeof want,
           "\"channel\":\"orders\",\"event\":\"paid\",\"size\":7,\"digest\":\"" DIGEST_1
           "\",\"delivered\":2,\"nodes\":1,\"except\":\"%s\",\"source\":\"api\"}]}",
           sockets[2]);
  CHECK(json && strncmp(json, "{\"events\":[{\"id\":\"", 18) == 0 && strstr(json, want) &&
            has_hex_digest(json) && !strstr(json, "\"data\""),
        "server: record of paid %s", SHOW(json));

  /* event_logged carries the same record, as JSON in `data`. */
  pushbus_event *ev = poll_for(events, PUSHBUS_EVENT_KIND_EVENT_LOGGED);
  size_t prefix = strlen("{\"events\":[");
  size_t record_len = json && strlen(json) > prefix + 2 ? strlen(json) - prefix - 2 : 0;
  CHECK(ev && strcmp(ev->name, "event_logged") == 0 && strcmp(ev->app_id, "3") == 0 &&
            ev->channel && strcmp(ev->channel, "orders") == 0 && ev->event &&
            strcmp(ev->event, "paid") == 0 && ev->user_id == NULL && ev->data &&
            ev->data_len == record_len && strncmp(ev->data, json + prefix, record_len) == 0,
        "event_logged: %s, the log's record: %s", ev && ev->data ? ev->data : "(null)", SHOW(json));
  pushbus_event_free(ev);
  pushbus_string_free(json);

  /* The client: the server's JSON answer (keys sorted), the same record. */
  json = NULL;
  EXPECT_OK(pushbus_client_delivery_log(client, 1, &json));
  snprintf(want, sizeof want,
           "{\"events\":[{\"channel\":\"orders\",\"delivered\":2,\"digest\":\"" DIGEST_1
           "\",\"event\":\"paid\",\"except\":\"%s\",\"id\":\"",
           sockets[2]);
  CHECK(json && strncmp(json, want, strlen(want)) == 0 &&
            strstr(json, "\",\"nodes\":1,\"size\":7,\"source\":\"api\",\"time\":") &&
            has_hex_digest(json) && !strstr(json, "\"data\""),
        "client: record of paid %s", SHOW(json));
  pushbus_string_free(json);

  EXPECT_OK(pushbus_server_publish(server, S("3"), &orders, 1, S("shipped"), S("{\"n\":2}"),
                                   NULL, 0));
  for (int i = 0; i < 3; i++) {
    CHECK(child_expect(&subs[i], "event orders shipped {\"n\":2}", HARNESS_TIMEOUT_MS) != NULL,
          "#%d got shipped", i + 1);
  }
  /* In order on one connection: the third got "shipped" but never "paid". */
  CHECK(!child_seen(&subs[2], "event orders paid"), "the excluded socket did not get paid");

  /* Newest first, through both faces; 0 is the client's "server default". */
  json = NULL;
  EXPECT_OK(pushbus_server_delivery_log(server, S("3"), 10, &json));
  const char *shipped = json ? strstr(json, "\"event\":\"shipped\"") : NULL;
  const char *paid = json ? strstr(json, "\"event\":\"paid\"") : NULL;
  CHECK(shipped && paid && shipped < paid &&
            strstr(json, "\"digest\":\"" DIGEST_2 "\",\"delivered\":3,\"nodes\":1,\"source\":\"api\"}"),
        "server: newest first, shipped to 3 without except: %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_delivery_log(client, 0, &json));
  shipped = json ? strstr(json, "\"event\":\"shipped\"") : NULL;
  paid = json ? strstr(json, "\"event\":\"paid\"") : NULL;
  CHECK(shipped && paid && shipped < paid &&
            strstr(json, "{\"channel\":\"orders\",\"delivered\":3,\"digest\":\"" DIGEST_2 "\","),
        "client: default limit, newest first: %s", SHOW(json));
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_client_delivery_log(client, 1, &json));
  CHECK(json && strstr(json, "\"shipped\"") && !strstr(json, "\"paid\""), "client: limit 1 %s",
        SHOW(json));
  pushbus_string_free(json);

  /* An app that keeps payloads: the data, no digest; nobody subscribed there. */
  EXPECT_OK(pushbus_server_publish(server, S("4"), &orders, 1, S("paid"), S("{\"n\":1}"), NULL,
                                   0));
  json = NULL;
  EXPECT_OK(pushbus_server_delivery_log(server, S("4"), 5, &json));
  CHECK(json && strstr(json, "\"event\":\"paid\",\"size\":7,\"data\":\"{\\\"n\\\":1}\","
                             "\"delivered\":0,\"nodes\":0,\"source\":\"api\"}]}") &&
            !strstr(json, "digest"),
        "server: payload kept %s", SHOW(json));
  pushbus_string_free(json);
  /* And one with the log off. */
  EXPECT_OK(pushbus_server_publish(server, S("5"), &orders, 1, S("paid"), S("{}"), NULL, 0));
  json = NULL;
  EXPECT_OK(pushbus_server_delivery_log(server, S("5"), 1, &json));
  CHECK(json && strcmp(json, "{\"events\":[]}") == 0, "server: log off %s", SHOW(json));
  pushbus_string_free(json);

  /* Refusals: the server's range as result codes (the client: the HTTP 400). */
  json = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit",
             pushbus_server_delivery_log(server, S("3"), 0, &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit",
             pushbus_server_delivery_log(server, S("3"), 1001, &json));
  EXPECT_ERR(PUSHBUS_RESULT_HTTP_STATUS, "400", pushbus_client_delivery_log(client, 1001, &json));
  EXPECT_ERR(PUSHBUS_RESULT_UNKNOWN_APP, "Unknown app",
             pushbus_server_delivery_log(server, S("6"), 1, &json));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_json`",
             pushbus_server_delivery_log(server, S("3"), 1, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_json`",
             pushbus_client_delivery_log(client, 1, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`server`",
             pushbus_server_delivery_log(NULL, S("3"), 1, &json));
  CHECK(json == NULL, "out_json untouched on failure");

  for (int i = 0; i < 3; i++) {
    child_send(&subs[i], "quit");
    CHECK(child_stop(&subs[i], HARNESS_TIMEOUT_MS) == 0, "driver #%d exited cleanly", i + 1);
  }
  pushbus_client_free(client);
  EXPECT_OK(pushbus_server_stop(server));
  pushbus_events_free(events);
  pushbus_server_free(server);
  return check_summary("test_delivery_log");
}
