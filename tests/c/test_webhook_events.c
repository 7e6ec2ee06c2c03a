/*
 * The webhook-grade event stream (pushbus_server_webhook_events): a real pusher-js
 * client (the node driver) joins a presence channel, reloads (leaves and joins again
 * within the 3 s delay), and finally leaves. The stream shows the join, nothing of the
 * reload, and the leave only after the delay; no connection events. The plain stream
 * (pushbus_server_events) shows everything as it happens.
 *
 *   test_webhook_events <path of driver.mjs>
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "check.h"
#include "harness.h"
#include "driver_auth.h"

#define CONFIG                                                                       \
  "{\"host\":\"127.0.0.1\",\"port\":0,\"apps\":[{\"id\":\"3\",\"key\":\"" KEY "\"," \
  "\"secret\":\"" SECRET "\"}]}"

/* The next event within timeout_ms, or NULL. */
static pushbus_event *next_event(pushbus_events *events, int timeout_ms) {
  pushbus_event *ev = NULL;
  pushbus_result r = pushbus_events_poll(events, timeout_ms, &ev);
  return r == PUSHBUS_RESULT_OK ? ev : NULL;
}

/* A driver joining `channel` as `user`, connected and subscribed. */
static bool join(child *c, const char *name, uint16_t port, const char *channel, const char *user) {
  char port_arg[16];
  snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port);
  char *argv[] = {"node", (char *)getenv("DRIVER"), port_arg, KEY, (char *)channel, (char *)user, NULL};
  if (!child_start(c, name, argv, NULL)) return false;
  c->on_auth = sign;
  char expected[128];
  snprintf(expected, sizeof expected, "subscribed %s", channel);
  return child_expect(c, "connected ", HARNESS_TIMEOUT_MS) && child_expect(c, expected, HARNESS_TIMEOUT_MS);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <driver.mjs>\n", argv[0]);
    return 2;
  }
  setenv("DRIVER", argv[1], 1);
  pushbus_server *server = NULL;
  EXPECT_OK(pushbus_server_new(S(CONFIG), &server));
  if (!server) return check_summary("test_webhook_events");
  pushbus_events *hooks = NULL, *raw = NULL;
  EXPECT_OK(pushbus_server_webhook_events(server, &hooks));
  EXPECT_OK(pushbus_server_events(server, &raw));
  uint16_t port = 0;
  EXPECT_OK(pushbus_server_start(server, NULL, 0, &port));

  child first;
  CHECK(join(&first, "first tab", port, "presence-chat.1", "7"), "user 7 joined");
  pushbus_event *ev = next_event(hooks, HARNESS_TIMEOUT_MS);
  CHECK(ev && ev->kind == PUSHBUS_EVENT_KIND_CHANNEL_OCCUPIED, "occupied first: %s", ev ? ev->name : "none");
  pushbus_event_free(ev);
  ev = next_event(hooks, HARNESS_TIMEOUT_MS);
  CHECK(ev && ev->kind == PUSHBUS_EVENT_KIND_MEMBER_ADDED && strcmp(ev->user_id, "7") == 0,
        "then member_added: %s", ev ? ev->name : "none");
  pushbus_event_free(ev);

  /* The reload: the tab closes, a new one joins as the same user within the delay. */
  CHECK(child_stop(&first, HARNESS_TIMEOUT_MS) == 0, "first tab closed");
  child second;
  CHECK(join(&second, "reloaded tab", port, "presence-chat.1", "7"), "user 7 joined again");
  /* A marker: user 8 joins another channel and leaves for good after the reload. */
  child marker;
  CHECK(join(&marker, "marker", port, "presence-chat.2", "8"), "user 8 joined");
  CHECK(child_stop(&marker, HARNESS_TIMEOUT_MS) == 0, "user 8 left");
  long long left_at = now_ms();
  /* Its events, and nothing of the reload: the reload's removal would have been due
   * before the marker's. */
  const char *want[] = {"channel_occupied", "member_added", "member_removed", "channel_vacated"};
  for (int i = 0; i < 4; i++) {
    ev = next_event(hooks, HARNESS_TIMEOUT_MS);
    CHECK(ev && strcmp(ev->name, want[i]) == 0 && strcmp(ev->channel, "presence-chat.2") == 0,
          "marker event %d: want %s, got %s on %s", i, want[i], ev ? ev->name : "none",
          ev && ev->channel ? ev->channel : "-");
    if (ev && ev->kind == PUSHBUS_EVENT_KIND_MEMBER_REMOVED) {
      CHECK(now_ms() - left_at >= 2500, "member_removed held for the delay (%lld ms)", now_ms() - left_at);
    }
    pushbus_event_free(ev);
  }
  CHECK(child_stop(&second, HARNESS_TIMEOUT_MS) == 0, "reloaded tab closed");
  ev = next_event(hooks, HARNESS_TIMEOUT_MS);
  CHECK(ev && ev->kind == PUSHBUS_EVENT_KIND_MEMBER_REMOVED && strcmp(ev->user_id, "7") == 0,
        "user 7 removed after the real leave: %s", ev ? ev->name : "none");
  pushbus_event_free(ev);

  /* The plain stream saw the reload as it happened: two member_added for user 7. */
  int added = 0, opened = 0;
  while ((ev = next_event(raw, 0)) != NULL) {
    if (ev->kind == PUSHBUS_EVENT_KIND_MEMBER_ADDED && strcmp(ev->user_id, "7") == 0) added++;
    if (ev->kind == PUSHBUS_EVENT_KIND_CONNECTION_OPENED) opened++;
    pushbus_event_free(ev);
  }
  CHECK(added == 2 && opened == 3, "raw stream: %d member_added of user 7, %d connections", added, opened);

  /* No webhook target: the counters are zeros; an unknown app is an error. */
  pushbus_webhook_stats stats = {1, 1, 1, 1};
  EXPECT_OK(pushbus_server_webhook_stats(server, S("3"), &stats));
  CHECK(stats.requests == 0 && stats.sent == 0 && stats.failures == 0 && stats.dropped == 0,
        "zero webhook counters");
  EXPECT(PUSHBUS_RESULT_UNKNOWN_APP, pushbus_server_webhook_stats(server, S("nope"), &stats));

  EXPECT_OK(pushbus_server_stop(server));
  pushbus_events_free(hooks);
  pushbus_events_free(raw);
  pushbus_server_free(server);
  return check_summary("test_webhook_events");
}
