/*
 * The embedded server end to end: C starts a server, a real pusher-js client (the
 * node driver) connects, C signs its private and presence subscriptions, C publishes
 * to a public and a private channel and the client receives both; lifecycle events
 * (member added/removed, client events, connections) are seen both through
 * pushbus_events_poll and through the callback; queries report the client.
 *
 *   test_server <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"

#define CONFIG                                                                       \
  "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":[{\"id\":\"3\",\"key\":\"" KEY "\"," \
  "\"secret\":\"" SECRET "\"}],\"metrics\":{\"enabled\":true,\"token\":\"c-metrics-token\"}}"

/* What the callback saw, guarded by `lock`. */
typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int member_added;   /* presence-chat.1 / user 7 */
  int member_removed; /* presence-chat.1 / user 7 */
  int client_events;  /* client-typing with the expected data */
  int opened, closed;
  int finalized; /* set by the finalizer; read after pushbus_server_free */
} seen_t;

static void on_event(void *user_data, const pushbus_event *ev) {
  seen_t *seen = user_data;
  pthread_mutex_lock(&seen->lock);
  int presence = ev->channel && strcmp(ev->channel, "presence-chat.1") == 0;
  int user7 = ev->user_id && strcmp(ev->user_id, "7") == 0;
  switch (ev->kind) {
    case PUSHBUS_EVENT_KIND_MEMBER_ADDED:
      seen->member_added += presence && user7 && strcmp(ev->name, "member_added") == 0;
      break;
    case PUSHBUS_EVENT_KIND_MEMBER_REMOVED:
      seen->member_removed += presence && user7;
      break;
    case PUSHBUS_EVENT_KIND_CLIENT_EVENT:
      seen->client_events += presence && user7 && ev->data_len == strlen("{\"typing\":true}") &&
                             memcmp(ev->data, "{\"typing\":true}", ev->data_len) == 0;
      break;
    case PUSHBUS_EVENT_KIND_CONNECTION_OPENED:
      seen->opened++;
      break;
    case PUSHBUS_EVENT_KIND_CONNECTION_CLOSED:
      seen->closed++;
      break;
    default:
      break;
  }
  pthread_cond_broadcast(&seen->changed);
  pthread_mutex_unlock(&seen->lock);
}

static void free_seen(void *user_data) {
  seen_t *seen = user_data;
  pthread_mutex_lock(&seen->lock);
  seen->finalized++;
  pthread_cond_broadcast(&seen->changed);
  pthread_mutex_unlock(&seen->lock);
}

/* A callback that frees its own server at the first event. */
static pushbus_server *self_server;

static void free_own_server(void *user_data, const pushbus_event *ev) {
  seen_t *seen = user_data;
  (void)ev;
  pthread_mutex_lock(&seen->lock);
  seen->opened++;
  pthread_mutex_unlock(&seen->lock);
  pushbus_server_free(self_server);
}

/* Waits until *counter >= want (bounded). */
static int wait_count(seen_t *seen, int *counter, int want) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += HARNESS_TIMEOUT_MS / 1000;
  pthread_mutex_lock(&seen->lock);
  int rc = 0;
  while (*counter < want && rc == 0) rc = pthread_cond_timedwait(&seen->changed, &seen->lock, &deadline);
  int ok = *counter >= want;
  pthread_mutex_unlock(&seen->lock);
  return ok;
}

/* Polls until an event of `kind` (and channel or socket id, when given) arrives;
 * bounded. Other events are skipped. */
static pushbus_event *poll_for_socket(pushbus_events *events, pushbus_event_kind kind,
                                      const char *channel, const char *socket_id) {
  long long deadline = now_ms() + HARNESS_TIMEOUT_MS;
  while (now_ms() < deadline) {
    pushbus_event *ev = NULL;
    pushbus_result r = pushbus_events_poll(events, 500, &ev);
    if (r == PUSHBUS_RESULT_TIMEOUT) continue;
    if (r != PUSHBUS_RESULT_OK) {
      fprintf(stderr, "poll: %s\n", pushbus_last_error_message());
      return NULL;
    }
    if (ev->kind == kind && (!channel || (ev->channel && strcmp(ev->channel, channel) == 0)) &&
        (!socket_id || (ev->socket_id && strcmp(ev->socket_id, socket_id) == 0))) {
      return ev;
    }
    pushbus_event_free(ev);
  }
  fprintf(stderr, "poll: no event of kind %u within the timeout\n", (unsigned)kind);
  return NULL;
}

static pushbus_event *poll_for(pushbus_events *events, pushbus_event_kind kind,
                               const char *channel) {
  return poll_for_socket(events, kind, channel, NULL);
}

/* Signs the driver's subscriptions: "auth <socket_id> <channel> [<channel_data>]". */
int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <driver.mjs>\n", argv[0]);
    return 2;
  }
  seen_t seen;
  memset(&seen, 0, sizeof seen);
  pthread_mutex_init(&seen.lock, NULL);
  pthread_cond_init(&seen.changed, NULL);

  pushbus_server *server = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &server));
  if (!server) return check_summary("test_server");
  pushbus_events *events = NULL;
  EXPECT_OK(pushbus_server_events(server, &events));
  EXPECT_OK(pushbus_server_set_event_callback(server, on_event, &seen, free_seen));
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_start(server, NULL, 0, &port));

  /* A real pusher-js client, subscribing to a public, a private and a presence channel. */
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port);
  char *driver_argv[] = {"node", argv[1], port_arg, KEY,
                         "orders,private-orders.1,presence-chat.1", "7", NULL};
  child driver;
  if (!child_start(&driver, "pusher-js", driver_argv, NULL)) {
    CHECK(0, "cannot start the driver");
    pushbus_server_free(server);
    return check_summary("test_server");
  }
  driver.on_auth = sign;
  const char *connected = child_expect(&driver, "connected ", HARNESS_TIMEOUT_MS);
  CHECK(connected != NULL, "pusher-js connected");
  char socket_id[64] = "";
  if (connected) snprintf(socket_id, sizeof socket_id, "%s", connected + strlen("connected "));
  CHECK(child_expect(&driver, "subscribed orders", HARNESS_TIMEOUT_MS) != NULL, "orders");
  CHECK(child_expect(&driver, "subscribed private-orders.1", HARNESS_TIMEOUT_MS) != NULL,
        "private-orders.1");
  CHECK(child_expect(&driver, "subscribed presence-chat.1", HARNESS_TIMEOUT_MS) != NULL,
        "presence-chat.1");

  /* Lifecycle events, through poll... */
  pushbus_event *ev = poll_for(events, PUSHBUS_EVENT_KIND_CONNECTION_OPENED, NULL);
  CHECK(ev && strcmp(ev->socket_id, socket_id) == 0 && strcmp(ev->app_id, "3") == 0 &&
            ev->channel == NULL && strcmp(ev->name, "connection_opened") == 0,
        "connection_opened by poll");
  pushbus_event_free(ev);
  ev = poll_for(events, PUSHBUS_EVENT_KIND_CHANNEL_OCCUPIED, "private-orders.1");
  CHECK(ev != NULL, "channel_occupied by poll");
  pushbus_event_free(ev);
  ev = poll_for(events, PUSHBUS_EVENT_KIND_MEMBER_ADDED, "presence-chat.1");
  CHECK(ev && strcmp(ev->user_id, "7") == 0 && ev->lost == 0, "member_added by poll");
  pushbus_event_free(ev);
  /* ... and through the callback. */
  CHECK(wait_count(&seen, &seen.member_added, 1), "member_added by callback");
  CHECK(wait_count(&seen, &seen.opened, 1), "connection_opened by callback");

  /* Queries see the client. */
  pushbus_channel_info info;
  EXPECT_OK(pushbus_server_channel(server, S("3"), S("orders"), &info));
  CHECK(info.occupied && info.subscription_count == 1 && !info.presence, "orders info");
  EXPECT_OK(pushbus_server_channel(server, S("3"), S("presence-chat.1"), &info));
  CHECK(info.occupied && info.presence && info.user_count == 1, "presence info");
  char *json = NULL;
  EXPECT_OK(pushbus_server_members(server, S("3"), S("presence-chat.1"), &json));
  CHECK(json && strcmp(json, "{\"users\":[{\"id\":\"7\",\"info\":{\"name\":\"Ada\"}}]}") == 0,
        "members %s", json ? json : "(null)");
  pushbus_string_free(json);
  json = NULL;
  EXPECT_OK(pushbus_server_channels(server, S("3"), S("presence-"), &json));
  CHECK(json && strcmp(json, "{\"channels\":{\"presence-chat.1\":{\"name\":\"presence-chat.1\","
                             "\"occupied\":true,\"subscription_count\":1,\"user_count\":1}}}") == 0,
        "channels %s", json ? json : "(null)");
  pushbus_string_free(json);
  size_t count = 0;
  EXPECT_OK(pushbus_server_connection_count(server, S("3"), &count));
  CHECK(count == 1, "connection count %zu", count);
  /* The metrics an embedder would serve on its own route count the driver's connection. */
  char *metrics = NULL;
  EXPECT_OK(pushbus_server_metrics_text(server, &metrics));
  CHECK(metrics && strstr(metrics, "\npushbus_connections{app=\"3\"} 1\n") &&
            strstr(metrics, "# EOF\n"),
        "metrics text %.200s", metrics ? metrics : "(null)");
  pushbus_string_free(metrics);

  /* Publish: first excluding the client (it must not arrive), then to it. */
  pushbus_str both[2] = {pstr("orders"), pstr("private-orders.1")};
  EXPECT_OK(pushbus_server_publish(server, S("3"), both, 2, S("skipped"), S("{}"), Z(socket_id)));
  EXPECT_OK(pushbus_server_publish(server, S("3"), both, 2, S("greeting"),
                                   S("{\"text\":\"hello from C\"}"), NULL, 0));
  CHECK(child_expect(&driver, "event orders greeting {\"text\":\"hello from C\"}",
                     HARNESS_TIMEOUT_MS) != NULL,
        "public channel event received");
  CHECK(child_expect(&driver, "event private-orders.1 greeting {\"text\":\"hello from C\"}",
                     HARNESS_TIMEOUT_MS) != NULL,
        "private channel event received");
  /* Events to one connection keep their order: "skipped" would have come first. */
  CHECK(!child_seen(&driver, "event orders skipped") &&
            !child_seen(&driver, "event private-orders.1 skipped"),
        "the excluded socket received nothing");

  /* A client event (whisper) on the presence channel. */
  child_send(&driver, "whisper presence-chat.1 client-typing {\"typing\":true}");
  ev = poll_for(events, PUSHBUS_EVENT_KIND_CLIENT_EVENT, "presence-chat.1");
  CHECK(ev && strcmp(ev->event, "client-typing") == 0 && strcmp(ev->user_id, "7") == 0 &&
            strcmp(ev->socket_id, socket_id) == 0 && ev->data_len == 15 &&
            memcmp(ev->data, "{\"typing\":true}", 15) == 0,
        "client_event by poll");
  pushbus_event_free(ev);
  CHECK(wait_count(&seen, &seen.client_events, 1), "client_event by callback");

  /* Leaving the presence channel. */
  child_send(&driver, "unsubscribe presence-chat.1");
  ev = poll_for(events, PUSHBUS_EVENT_KIND_MEMBER_REMOVED, "presence-chat.1");
  CHECK(ev && strcmp(ev->user_id, "7") == 0, "member_removed by poll");
  pushbus_event_free(ev);
  CHECK(wait_count(&seen, &seen.member_removed, 1), "member_removed by callback");
  ev = poll_for(events, PUSHBUS_EVENT_KIND_CHANNEL_VACATED, "presence-chat.1");
  CHECK(ev != NULL, "channel_vacated by poll");
  pushbus_event_free(ev);

  /* A second client, present as user 8, whose connections C terminates. */
  char *driver2_argv[] = {"node", argv[1], port_arg, KEY, "presence-chat.1", "8", NULL};
  child driver2;
  if (child_start(&driver2, "pusher-js #2", driver2_argv, NULL)) {
    driver2.on_auth = sign;
    CHECK(child_expect(&driver2, "subscribed presence-chat.1", HARNESS_TIMEOUT_MS) != NULL,
          "second client present");
    count = 0;
    EXPECT_OK(pushbus_server_terminate_user_connections(server, S("3"), S("8"), &count));
    CHECK(count == 1, "terminated %zu connections", count);
    CHECK(child_expect(&driver2, "closed", HARNESS_TIMEOUT_MS) != NULL, "user 8 disconnected");
    CHECK(child_stop(&driver2, HARNESS_TIMEOUT_MS) == 0, "second driver exited cleanly");
  } else {
    CHECK(0, "cannot start the second driver");
  }

  /* Graceful stop: the client is told to reconnect (4200), the connection closes. */
  EXPECT_OK(pushbus_server_stop(server));
  CHECK(child_expect(&driver, "closed", HARNESS_TIMEOUT_MS) != NULL, "client disconnected");
  ev = poll_for_socket(events, PUSHBUS_EVENT_KIND_CONNECTION_CLOSED, NULL, socket_id);
  CHECK(ev != NULL, "connection_closed by poll");
  pushbus_event_free(ev);
  CHECK(wait_count(&seen, &seen.closed, 2), "connection_closed (both) by callback");
  child_send(&driver, "quit");
  CHECK(child_stop(&driver, HARNESS_TIMEOUT_MS) == 0, "driver exited cleanly");

  /* A callback may free its own server: here at the first connection. */
  seen_t self;
  memset(&self, 0, sizeof self);
  pthread_mutex_init(&self.lock, NULL);
  pthread_cond_init(&self.changed, NULL);
  pushbus_server *doomed = NULL;
  uint16_t doomed_port = 0;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &doomed));
  self_server = doomed;
  EXPECT_OK(pushbus_server_set_event_callback(doomed, free_own_server, &self, free_seen));
  EXPECT_OK(pushbus_server_start(doomed, NULL, 0, &doomed_port));
  char doomed_port_arg[16];
  snprintf(doomed_port_arg, sizeof doomed_port_arg, "%u", (unsigned)doomed_port);
  char *driver3_argv[] = {"node", argv[1], doomed_port_arg, KEY, "orders", "9", NULL};
  child driver3;
  if (child_start(&driver3, "pusher-js #3", driver3_argv, NULL)) {
    CHECK(wait_count(&self, &self.finalized, 1), "the callback freed its server; finalizer ran");
    CHECK(self.opened == 1, "one call before the free");
    child_send(&driver3, "quit");
    CHECK(child_stop(&driver3, HARNESS_TIMEOUT_MS) == 0, "third driver exited cleanly");
  } else {
    CHECK(0, "cannot start the third driver");
  }
  pthread_cond_destroy(&self.changed);
  pthread_mutex_destroy(&self.lock);

  /* Freeing the server stops the callback and runs its finalizer once, before returning. */
  pushbus_server_free(server);
  CHECK(seen.finalized == 1, "finalizer ran %d times", seen.finalized);
  pushbus_events_free(events);
  pthread_cond_destroy(&seen.changed);
  pthread_mutex_destroy(&seen.lock);
  return check_summary("test_server");
}
