/*
 * Every error path that needs no network: NULL arguments, bad UTF-8, bad
 * configuration, invalid publishes and queries, lifecycle misuse, _free(NULL), result
 * texts and the per-thread error message.
 */
#include <pthread.h>
#include <stdint.h>

#include "check.h"

#define APP "{\"id\":\"3\",\"key\":\"278d425bdf160c739803\",\"secret\":\"7ad3773142a6692b25b8\"}"
#define CONFIG "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":[" APP "]}"

static const char BAD_UTF8[] = {'o', 'r', (char)0xc3, (char)0x28};

static void results(void) {
  const pushbus_result codes[] = {
      PUSHBUS_RESULT_OK,           PUSHBUS_RESULT_PANIC,          PUSHBUS_RESULT_NULL_PARAMETER,
      PUSHBUS_RESULT_INVALID_UTF8, PUSHBUS_RESULT_INVALID_ARGUMENT, PUSHBUS_RESULT_RUNTIME,
      PUSHBUS_RESULT_FORKED,       PUSHBUS_RESULT_TIMEOUT,        PUSHBUS_RESULT_CLOSED,
      PUSHBUS_RESULT_INVALID_SIGNATURE, PUSHBUS_RESULT_CONFIG,    PUSHBUS_RESULT_UNKNOWN_APP,
      PUSHBUS_RESULT_APP_DISABLED, PUSHBUS_RESULT_INVALID_CHANNEL, PUSHBUS_RESULT_NO_CHANNELS,
      PUSHBUS_RESULT_TOO_MANY_CHANNELS, PUSHBUS_RESULT_ENCRYPTED_WITH_OTHERS,
      PUSHBUS_RESULT_INVALID_EVENT_NAME, PUSHBUS_RESULT_DATA_TOO_LARGE,
      PUSHBUS_RESULT_INVALID_SOCKET_ID, PUSHBUS_RESULT_BATCH_TOO_LARGE,
      PUSHBUS_RESULT_NOT_PRESENCE_CHANNEL, PUSHBUS_RESULT_BIND, PUSHBUS_RESULT_ALREADY_STARTED,
      PUSHBUS_RESULT_NOT_RUNNING,  PUSHBUS_RESULT_CONNECT,        PUSHBUS_RESULT_HTTP_STATUS,
      PUSHBUS_RESULT_INVALID_RESPONSE,
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    const char *text = pushbus_result_text(codes[i]);
    CHECK(text && *text && strcmp(text, "unknown result code") != 0, "code %u has no text",
          (unsigned)codes[i]);
    for (size_t j = 0; j < i; j++) {
      CHECK(strcmp(text, pushbus_result_text(codes[j])) != 0, "codes %u and %u share a text",
            (unsigned)codes[i], (unsigned)codes[j]);
    }
  }
  CHECK(strcmp(pushbus_result_text(9999), "unknown result code") == 0, "unknown code");
  CHECK(strcmp(pushbus_result_text(PUSHBUS_RESULT_OK), "ok") == 0, "ok text");
}

static void *fail_on_other_thread(void *arg) {
  (void)arg;
  pushbus_server *s = NULL;
  pushbus_server_new(S("not json"), &s);
  return (void *)strstr(pushbus_last_error_message(), "invalid config JSON");
}

static void messages_are_per_thread(void) {
  pushbus_server *s = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_CONFIG, "no apps configured", pushbus_server_new(S("{}"), &s));
  pthread_t t;
  void *found = NULL;
  CHECK(pthread_create(&t, NULL, fail_on_other_thread, NULL) == 0, "pthread_create");
  pthread_join(t, &found);
  CHECK(found != NULL, "the other thread saw its own message");
  CHECK(strstr(pushbus_last_error_message(), "no apps configured") != NULL,
        "this thread keeps its message: %s", pushbus_last_error_message());
  /* A success leaves the message alone. */
  char *auth = NULL;
  EXPECT_OK(pushbus_auth_user(S("k"), S("s"), S("1.1"), S("{\"id\":\"1\"}"), &auth));
  pushbus_string_free(auth);
  CHECK(strstr(pushbus_last_error_message(), "no apps configured") != NULL, "kept after success");
}

static void frees_accept_null(void) {
  pushbus_string_free(NULL);
  pushbus_server_free(NULL);
  pushbus_events_free(NULL);
  pushbus_event_free(NULL);
  pushbus_client_free(NULL);
  CHECK(1, "free(NULL)");
}

static void config_errors(void) {
  pushbus_server *s = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`config_json`", pushbus_server_new(NULL, 0, &s));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_server`", pushbus_server_new(S(CONFIG), NULL));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_UTF8, "`config_json`",
             pushbus_server_new(BAD_UTF8, sizeof BAD_UTF8, &s));
  EXPECT_ERR(PUSHBUS_RESULT_CONFIG, "invalid config JSON", pushbus_server_new(S("{\"apps\":"), &s));
  EXPECT_ERR(PUSHBUS_RESULT_CONFIG, "id, key and secret",
             pushbus_server_new(S("{\"apps\":[{\"id\":\"1\",\"key\":\"\",\"secret\":\"s\"}]}"), &s));
  CHECK(s == NULL, "out_server written on failure");
}

static void server_errors(void) {
  pushbus_server *s = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &s));
  if (!s) return;
  pushbus_str orders = pstr("orders");
  pushbus_str two[2] = {pstr("private-encrypted-a"), pstr("orders")};
  pushbus_str bad[1] = {{BAD_UTF8, sizeof BAD_UTF8}};
  pushbus_str null_str[1] = {{NULL, 3}};

  /* Publishing works before start (nobody listens yet); every check still applies. */
  EXPECT_OK(pushbus_server_publish(s, S("3"), &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`server`",
             pushbus_server_publish(NULL, S("3"), &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`channels`",
             pushbus_server_publish(s, S("3"), NULL, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`channels[0]`",
             pushbus_server_publish(s, S("3"), null_str, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`data`",
             pushbus_server_publish(s, S("3"), &orders, 1, S("e"), NULL, 0, NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_UTF8, "`channels[0]`",
             pushbus_server_publish(s, S("3"), bad, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_UNKNOWN_APP, "Unknown app",
             pushbus_server_publish(s, S("nope"), &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_NO_CHANNELS, "No channels",
             pushbus_server_publish(s, S("3"), NULL, 0, S("e"), S("{}"), NULL, 0));
  pushbus_str invalid = pstr("bad name");
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "Invalid channel name",
             pushbus_server_publish(s, S("3"), &invalid, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_ENCRYPTED_WITH_OTHERS, "encrypted",
             pushbus_server_publish(s, S("3"), two, 2, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_EVENT_NAME, "reserved",
             pushbus_server_publish(s, S("3"), &orders, 1, S("pusher:x"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_SOCKET_ID, "Invalid socket_id",
             pushbus_server_publish(s, S("3"), &orders, 1, S("e"), S("{}"), S("abc")));
  static char big[20001];
  memset(big, 'x', sizeof big - 1);
  EXPECT_ERR(PUSHBUS_RESULT_DATA_TOO_LARGE, "too large",
             pushbus_server_publish(s, S("3"), &orders, 1, S("e"), big, sizeof big - 1, NULL, 0));
  pushbus_str many[101];
  for (int i = 0; i < 101; i++) many[i] = orders;
  EXPECT_ERR(PUSHBUS_RESULT_TOO_MANY_CHANNELS, "Too many channels",
             pushbus_server_publish(s, S("3"), many, 101, S("e"), S("{}"), NULL, 0));

  /* Queries. */
  pushbus_channel_info info;
  memset(&info, 0xAB, sizeof info);
  unsigned char untouched[sizeof info];
  memcpy(untouched, &info, sizeof info);
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "Invalid channel name",
             pushbus_server_channel(s, S("3"), S("a:b"), &info));
  CHECK(memcmp(untouched, &info, sizeof info) == 0, "out_info written on failure");
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_info`",
             pushbus_server_channel(s, S("3"), S("orders"), NULL));
  EXPECT_OK(pushbus_server_channel(s, S("3"), S("orders"), &info));
  CHECK(!info.occupied && info.subscription_count == 0 && !info.presence, "empty channel");
  EXPECT_OK(pushbus_server_channel(s, S("3"), S("presence-x"), &info));
  CHECK(info.presence && info.user_count == 0, "empty presence channel");
  char *json = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_NOT_PRESENCE_CHANNEL, "not a presence channel",
             pushbus_server_members(s, S("3"), S("private-x"), &json));
  EXPECT_ERR(PUSHBUS_RESULT_UNKNOWN_APP, "Unknown app",
             pushbus_server_channels(s, S("4"), NULL, 0, &json));
  CHECK(json == NULL, "out_json written on failure");
  EXPECT_OK(pushbus_server_channels(s, S("3"), NULL, 0, &json));
  CHECK(json && strcmp(json, "{\"channels\":{}}") == 0, "channels: %s", json ? json : "(null)");
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_server_members(s, S("3"), S("presence-x"), &json));
  CHECK(json && strcmp(json, "{\"users\":[]}") == 0, "members: %s", json ? json : "(null)");
  pushbus_string_free(json);
  size_t count = 99;
  EXPECT_OK(pushbus_server_connection_count(s, S("3"), &count));
  CHECK(count == 0, "connection count %zu", count);
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_count`",
             pushbus_server_connection_count(s, S("3"), NULL));
  EXPECT_OK(pushbus_server_terminate_user_connections(s, S("3"), S("1"), &count));
  CHECK(count == 0, "terminated %zu", count);
  EXPECT_OK(pushbus_server_terminate_user_connections(s, S("3"), S("1"), NULL));

  /* Events: nothing yet; NULL arguments. */
  pushbus_events *events = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_events`", pushbus_server_events(s, NULL));
  EXPECT_OK(pushbus_server_events(s, &events));
  pushbus_event *ev = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_TIMEOUT, "no event", pushbus_events_poll(events, 0, &ev));
  EXPECT_ERR(PUSHBUS_RESULT_TIMEOUT, "no event", pushbus_events_poll(events, 20, &ev));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`events`", pushbus_events_poll(NULL, 0, &ev));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_event`", pushbus_events_poll(events, 0, NULL));
  CHECK(ev == NULL, "out_event written on failure");
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`server`",
             pushbus_server_set_event_callback(NULL, NULL, NULL, NULL));

  /* Lifecycle misuse. */
  EXPECT_ERR(PUSHBUS_RESULT_NOT_RUNNING, "not running", pushbus_server_stop(s));
  EXPECT_ERR(PUSHBUS_RESULT_NOT_RUNNING, "not running", pushbus_server_reload_tls(s));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`server`", pushbus_server_reload_tls(NULL));
  char *metrics = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_CONFIG, "metrics are off", pushbus_server_metrics_text(s, &metrics));
  CHECK(metrics == NULL, "metrics text untouched on failure");
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_text`", pushbus_server_metrics_text(s, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_UTF8, "`addr`",
             pushbus_server_start(s, BAD_UTF8, sizeof BAD_UTF8, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_BIND, "Cannot listen on",
             pushbus_server_start(s, S("not-an-address"), NULL));
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_start(s, S("127.0.0.1:0"), &port));
  CHECK(port != 0, "bound port");
  EXPECT_ERR(PUSHBUS_RESULT_ALREADY_STARTED, "already started",
             pushbus_server_start(s, NULL, 0, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_CONFIG, "no certificate configured", pushbus_server_reload_tls(s));

  /* Port in use: a second server on the first one's port. */
  pushbus_server *second = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &second));
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
  EXPECT_ERR(PUSHBUS_RESULT_BIND, "in use", pushbus_server_start(second, Z(addr), NULL));
  pushbus_server_free(second);

  EXPECT_OK(pushbus_server_stop(s));
  EXPECT_ERR(PUSHBUS_RESULT_NOT_RUNNING, "not running", pushbus_server_stop(s));
  EXPECT_ERR(PUSHBUS_RESULT_ALREADY_STARTED, "already started",
             pushbus_server_start(s, NULL, 0, NULL));
  pushbus_server_free(s);
  /* The reader outlives its server and then reports the end of the stream. */
  EXPECT_ERR(PUSHBUS_RESULT_CLOSED, "no more events", pushbus_events_poll(events, 1000, &ev));
  pushbus_events_free(events);
}

static void client_errors(void) {
  pushbus_client *c = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`host`",
             pushbus_client_new(NULL, 0, 80, false, S("3"), S("k"), S("s"), 0, NULL, &c));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_UTF8, "`app_id`",
             pushbus_client_new(S("localhost"), 80, false, BAD_UTF8, sizeof BAD_UTF8, S("k"),
                                S("s"), 0, NULL, &c));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "required",
             pushbus_client_new(S("localhost"), 80, false, S("3"), S(""), S("s"), 0, NULL, &c));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "host",
             pushbus_client_new(S("a/b"), 80, false, S("3"), S("k"), S("s"), 0, NULL, &c));
  CHECK(c == NULL, "out_client written on failure");
  EXPECT_OK(pushbus_client_new(S("localhost"), 1, false, S("3"), S("k"), S("s"), 0, NULL, &c));
  pushbus_str orders = pstr("orders");
  pushbus_str invalid = pstr("bad name");
  /* Refused before anything is sent. */
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`client`",
             pushbus_client_trigger(NULL, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "invalid channel name",
             pushbus_client_trigger(c, &invalid, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "channels",
             pushbus_client_trigger(c, NULL, 0, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "socket_id",
             pushbus_client_trigger(c, &orders, 1, S("e"), S("{}"), S("x")));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "encryption_master_key",
             pushbus_client_trigger(c, &(pushbus_str){S("private-encrypted-a")}, 1, S("e"),
                                    S("{}"), NULL, 0));
  /* Queued triggers are refused the same way, at once; nothing is queued. */
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`client`",
             pushbus_client_trigger_queued(NULL, &orders, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "invalid channel name",
             pushbus_client_trigger_queued(c, &invalid, 1, S("e"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "socket_id",
             pushbus_client_trigger_queued(c, &orders, 1, S("e"), S("{}"), S("x")));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_UTF8, "event",
             pushbus_client_trigger_queued(c, &orders, 1, S("\xff"), S("{}"), NULL, 0));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`client`", pushbus_client_flush(NULL, 0, NULL));
  EXPECT_OK(pushbus_client_flush(c, 0, NULL)); /* nothing was queued */
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "empty batch",
             pushbus_client_trigger_batch(c, NULL, 0));
  pushbus_batch_event batch[1];
  memset(batch, 0, sizeof batch);
  batch[0].channel = orders;
  batch[0].data = pstr("{}");
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`events[0].name`",
             pushbus_client_trigger_batch(c, batch, 1));
  char *json = NULL;
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_json`",
             pushbus_client_channels(c, NULL, 0, NULL, 0, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "invalid channel name",
             pushbus_client_users(c, S("a b"), &json));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "invalid user id",
             pushbus_client_terminate_user_connections(c, S("a b")));
  CHECK(json == NULL, "out_json written on failure");
  pushbus_client_free(c);
}

int main(void) {
  results();
  messages_are_per_thread();
  frees_accept_null();
  config_errors();
  server_errors();
  client_errors();
  return check_summary("test_errors");
}
