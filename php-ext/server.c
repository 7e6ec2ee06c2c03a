/*
 * Pushbus\Server: an embedded pushbus server (pushbus_server_*), running on the
 * library's threads inside this PHP process.
 *
 * Lifecycle events are never delivered on a library thread: the object holds an event
 * reader (made with the server, so it sees everything from the start) and PHP takes
 * the events in poll(), on the PHP thread. The reader is bounded by the config's
 * event_buffer; a PHP loop that polls too rarely loses the oldest events and is told
 * how many ("lost").
 *
 * A server belongs to the process that made it: in a forked child every call throws
 * Pushbus\Exception with code FORKED (make a new server there).
 */
#include "php_pushbus.h"

#include "ext/json/php_json.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

typedef struct {
  pid_t pid;              /* the process that made the server */
  pushbus_server *server; /* owned; NULL until constructed */
  pushbus_events *events; /* owned; the reader poll() drains */
  zend_string *default_app; /* the first app of the config */
  zend_long port;           /* the bound port, 0 before start() */
  zend_object std;
} server_object;

static zend_object_handlers server_handlers;

static inline server_object *server_from(zend_object *obj) {
  return (server_object *)((char *)obj - XtOffsetOf(server_object, std));
}

static zend_object *server_create(zend_class_entry *ce) {
  server_object *o = zend_object_alloc(sizeof(server_object), ce);
  zend_object_std_init(&o->std, ce);
  object_properties_init(&o->std, ce);
  o->std.handlers = &server_handlers;
  return &o->std;
}

static void server_free(zend_object *obj) {
  server_object *o = server_from(obj);
  if (o->server && pushbus_forked(o->pid)) {
    /* A forked child: the server and its threads are the parent's. */
    pushbus_park(o->server);
    pushbus_park(o->events);
  } else {
    /* Stops gracefully if running (clients are told to reconnect), blocking up to
     * the config's shutdown_grace. */
    pushbus_server_free(o->server);
    pushbus_events_free(o->events);
  }
  if (o->default_app) {
    zend_string_release(o->default_app);
  }
  zend_object_std_dtor(obj);
}

/* The constructed server of $this, or NULL with an exception thrown. */
static server_object *server_this(zval *this_ptr) {
  server_object *o = server_from(Z_OBJ_P(this_ptr));
  if (o->server == NULL) {
    zend_throw_error(NULL, "Pushbus\\Server was not constructed");
    return NULL;
  }
  return o;
}

#define SERVER()                         \
  server_this(ZEND_THIS);                \
  if (o == NULL) {                       \
    RETURN_THROWS();                     \
  }

static pushbus_str app_arg(server_object *o, zend_string *app_id) {
  return pushbus_zstr(app_id ? app_id : o->default_app);
}

ZEND_METHOD(Pushbus_Server, __construct) {
  zval *zconfig;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_ARRAY(zconfig)
  ZEND_PARSE_PARAMETERS_END();
  HashTable *config = Z_ARRVAL_P(zconfig);

  server_object *o = server_from(Z_OBJ_P(ZEND_THIS));
  if (o->server) {
    zend_throw_error(NULL, "Pushbus\\Server is already constructed");
    RETURN_THROWS();
  }
  /* The default app of publish() and the queries: the first of the config. */
  zval *apps = zend_hash_str_find_deref(config, "apps", sizeof("apps") - 1);
  zval *first = (apps && Z_TYPE_P(apps) == IS_ARRAY) ? zend_hash_index_find_deref(Z_ARRVAL_P(apps), 0) : NULL;
  zval *id = (first && Z_TYPE_P(first) == IS_ARRAY) ? zend_hash_str_find_deref(Z_ARRVAL_P(first), "id", 2) : NULL;

  smart_str json = {0};
  if (php_json_encode(&json, zconfig, PHP_JSON_UNESCAPED_SLASHES | PHP_JSON_UNESCAPED_UNICODE) == FAILURE) {
    smart_str_free(&json);
    pushbus_throw_msg(PUSHBUS_RESULT_CONFIG, "the config cannot be encoded as JSON");
    RETURN_THROWS();
  }
  smart_str_0(&json);
  pushbus_server *server = NULL;
  pushbus_result r = pushbus_server_new(ZSTR_VAL(json.s), ZSTR_LEN(json.s), &server);
  smart_str_free(&json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_events *events = NULL;
  r = pushbus_server_events(server, &events);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_server_free(server);
    pushbus_throw(r);
    RETURN_THROWS();
  }
  o->pid = getpid();
  o->server = server;
  o->events = events;
  /* The library accepted the config, so the first app has an id (string in JSON). */
  o->default_app = id ? zval_get_string(id) : ZSTR_EMPTY_ALLOC();
}

ZEND_METHOD(Pushbus_Server, start) {
  zend_string *address = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(address)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  uint16_t port = 0;
  pushbus_result r = pushbus_server_start(o->server, address ? ZSTR_VAL(address) : NULL,
                                          address ? ZSTR_LEN(address) : 0, &port);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  o->port = port;
  RETURN_LONG(port);
}

ZEND_METHOD(Pushbus_Server, port) {
  ZEND_PARSE_PARAMETERS_NONE();
  server_object *o = SERVER();
  if (o->port == 0) {
    RETURN_NULL();
  }
  RETURN_LONG(o->port);
}

ZEND_METHOD(Pushbus_Server, publish) {
  zend_string *channel = NULL, *event, *socket_id = NULL, *app_id = NULL;
  HashTable *channels = NULL;
  zval *data;
  ZEND_PARSE_PARAMETERS_START(3, 5)
    Z_PARAM_ARRAY_HT_OR_STR(channels, channel)
    Z_PARAM_STR(event)
    Z_PARAM_ZVAL(data)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(socket_id)
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str *names;
  size_t n;
  if (!pushbus_channels_arg(channel, channels, &names, &n)) {
    RETURN_THROWS();
  }
  zend_string *payload = pushbus_encode_data(data);
  if (payload == NULL) {
    if (names) efree(names);
    RETURN_THROWS();
  }
  static const pushbus_str none = {"", 0};
  pushbus_str app = app_arg(o, app_id);
  pushbus_result r = pushbus_server_publish(
      o->server, app.data, app.len, names ? names : &none, n, ZSTR_VAL(event), ZSTR_LEN(event),
      ZSTR_VAL(payload), ZSTR_LEN(payload), socket_id ? ZSTR_VAL(socket_id) : NULL,
      socket_id ? ZSTR_LEN(socket_id) : 0);
  zend_string_release(payload);
  if (names) efree(names);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

static void add_field(zval *array, const char *key, const char *value) {
  if (value) {
    add_assoc_string(array, key, value);
  }
}

/* A polled event as a PHP array (the library's event is freed by the caller). */
static void event_to_array(const pushbus_event *ev, zval *out) {
  array_init(out);
  add_field(out, "name", ev->name);
  add_field(out, "app_id", ev->app_id);
  add_field(out, "channel", ev->channel);
  add_field(out, "user_id", ev->user_id);
  add_field(out, "socket_id", ev->socket_id);
  add_field(out, "event", ev->event);
  if (ev->data) {
    add_assoc_stringl(out, "data", ev->data, ev->data_len);
  }
  if (ev->kind == PUSHBUS_EVENT_KIND_SUBSCRIPTION_COUNT) {
    add_assoc_long(out, "subscription_count", (zend_long)ev->count);
  }
  add_assoc_long(out, "lost", (zend_long)ev->lost);
}

ZEND_METHOD(Pushbus_Server, poll) {
  zend_long timeout_ms = 0, max = 100;
  ZEND_PARSE_PARAMETERS_START(0, 2)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(timeout_ms)
    Z_PARAM_LONG(max)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  if (timeout_ms < 0 || timeout_ms > UINT32_MAX) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "the timeout must be 0 to %u milliseconds", UINT32_MAX);
    RETURN_THROWS();
  }
  if (max < 1) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "max must be at least 1");
    RETURN_THROWS();
  }
  array_init(return_value);
  /* Wait for the first event, then take what is already there, without waiting. */
  uint32_t wait = (uint32_t)timeout_ms;
  for (zend_long i = 0; i < max; i++) {
    pushbus_event *ev = NULL;
    pushbus_result r = pushbus_events_poll(o->events, wait, &ev);
    if (r == PUSHBUS_RESULT_TIMEOUT) {
      return;
    }
    if (r != PUSHBUS_RESULT_OK) {
      zval_ptr_dtor(return_value);
      ZVAL_NULL(return_value);
      pushbus_throw(r);
      RETURN_THROWS();
    }
    zval item;
    event_to_array(ev, &item);
    pushbus_event_free(ev);
    add_next_index_zval(return_value, &item);
    wait = 0;
  }
}

ZEND_METHOD(Pushbus_Server, channels) {
  zend_string *prefix = NULL, *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 2)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(prefix)
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  char *json = NULL;
  pushbus_result r = pushbus_server_channels(o->server, app.data, app.len, prefix ? ZSTR_VAL(prefix) : NULL,
                                             prefix ? ZSTR_LEN(prefix) : 0, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (!pushbus_return_json_member(json, "channels", return_value)) {
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, channel) {
  zend_string *channel, *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(1, 2)
    Z_PARAM_STR(channel)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  pushbus_channel_info info;
  pushbus_result r =
      pushbus_server_channel(o->server, app.data, app.len, ZSTR_VAL(channel), ZSTR_LEN(channel), &info);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  array_init(return_value);
  add_assoc_bool(return_value, "occupied", info.occupied);
  add_assoc_long(return_value, "subscription_count", (zend_long)info.subscription_count);
  if (info.presence) {
    add_assoc_long(return_value, "user_count", (zend_long)info.user_count);
  }
}

ZEND_METHOD(Pushbus_Server, members) {
  zend_string *channel, *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(1, 2)
    Z_PARAM_STR(channel)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  char *json = NULL;
  pushbus_result r =
      pushbus_server_members(o->server, app.data, app.len, ZSTR_VAL(channel), ZSTR_LEN(channel), &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (!pushbus_return_json_member(json, "users", return_value)) {
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, connectionCount) {
  zend_string *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  size_t count = 0;
  pushbus_result r = pushbus_server_connection_count(o->server, app.data, app.len, &count);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETURN_LONG((zend_long)count);
}

ZEND_METHOD(Pushbus_Server, webhookStats) {
  zend_string *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  pushbus_webhook_stats stats;
  pushbus_result r = pushbus_server_webhook_stats(o->server, app.data, app.len, &stats);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  array_init(return_value);
  add_assoc_long(return_value, "requests", (zend_long)stats.requests);
  add_assoc_long(return_value, "sent", (zend_long)stats.sent);
  add_assoc_long(return_value, "failures", (zend_long)stats.failures);
  add_assoc_long(return_value, "dropped", (zend_long)stats.dropped);
}

ZEND_METHOD(Pushbus_Server, terminateUserConnections) {
  zend_string *user_id, *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(1, 2)
    Z_PARAM_STR(user_id)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  size_t count = 0;
  pushbus_result r = pushbus_server_terminate_user_connections(o->server, app.data, app.len, ZSTR_VAL(user_id),
                                                               ZSTR_LEN(user_id), &count);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETURN_LONG((zend_long)count);
}

ZEND_METHOD(Pushbus_Server, userStatus) {
  zend_string *user_id, *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(1, 2)
    Z_PARAM_STR(user_id)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  char *json = NULL;
  pushbus_result r =
      pushbus_server_user_status(o->server, app.data, app.len, ZSTR_VAL(user_id), ZSTR_LEN(user_id), &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (!pushbus_return_json(json, return_value)) {
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, onlineUsers) {
  zend_string *after = NULL, *app_id = NULL;
  zend_long limit = 100;
  ZEND_PARSE_PARAMETERS_START(0, 3)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR(after)
    Z_PARAM_LONG(limit)
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  if (limit < 0) {
    /* The library checks the range; a negative number has no size_t to pass it as. */
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit must not be negative, got " ZEND_LONG_FMT, limit);
    RETURN_THROWS();
  }
  pushbus_str app = app_arg(o, app_id);
  char *json = NULL;
  pushbus_result r = pushbus_server_online_users(o->server, app.data, app.len, after ? ZSTR_VAL(after) : NULL,
                                                 after ? ZSTR_LEN(after) : 0, (size_t)limit, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (!pushbus_return_json(json, return_value)) {
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, setUserLocation) {
  zend_string *user_id, *location, *app_id = NULL;
  ZEND_PARSE_PARAMETERS_START(2, 3)
    Z_PARAM_STR(user_id)
    Z_PARAM_STR_OR_NULL(location)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  pushbus_str app = app_arg(o, app_id);
  pushbus_str where = pushbus_zstr(location);
  bool online = false;
  pushbus_result r = pushbus_server_set_user_location(o->server, app.data, app.len, ZSTR_VAL(user_id),
                                                      ZSTR_LEN(user_id), where.data, where.len, &online);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETURN_BOOL(online);
}

ZEND_METHOD(Pushbus_Server, deliveryLog) {
  zend_string *app_id = NULL;
  zend_long limit = 100;
  ZEND_PARSE_PARAMETERS_START(0, 2)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(limit)
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  if (limit < 0) {
    /* The library checks the range; a negative number has no size_t to pass it as. */
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit must not be negative, got " ZEND_LONG_FMT, limit);
    RETURN_THROWS();
  }
  pushbus_str app = app_arg(o, app_id);
  char *json = NULL;
  pushbus_result r = pushbus_server_delivery_log(o->server, app.data, app.len, (size_t)limit, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (!pushbus_return_json_member(json, "events", return_value)) {
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, history) {
  zend_string *channel, *app_id = NULL;
  zend_long since = 0, limit = 100;
  ZEND_PARSE_PARAMETERS_START(1, 4)
    Z_PARAM_STR(channel)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(since)
    Z_PARAM_LONG(limit)
    Z_PARAM_STR_OR_NULL(app_id)
  ZEND_PARSE_PARAMETERS_END();
  server_object *o = SERVER();

  /* The library checks the range; a negative number has no unsigned type to pass it as. */
  if (since < 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "since must not be negative, got " ZEND_LONG_FMT, since);
    RETURN_THROWS();
  }
  if (limit < 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit must not be negative, got " ZEND_LONG_FMT, limit);
    RETURN_THROWS();
  }
  pushbus_str app = app_arg(o, app_id);
  char *json = NULL;
  pushbus_result r = pushbus_server_history(o->server, app.data, app.len, ZSTR_VAL(channel), ZSTR_LEN(channel),
                                            (uint64_t)since, (size_t)limit, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (!pushbus_return_json(json, return_value)) {
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, reloadTls) {
  ZEND_PARSE_PARAMETERS_NONE();
  server_object *o = SERVER();
  pushbus_result r = pushbus_server_reload_tls(o->server);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Server, metricsText) {
  ZEND_PARSE_PARAMETERS_NONE();
  server_object *o = SERVER();
  char *text = NULL;
  pushbus_result r = pushbus_server_metrics_text(o->server, &text);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETVAL_STRING(text);
  pushbus_string_free(text);
}

ZEND_METHOD(Pushbus_Server, stop) {
  ZEND_PARSE_PARAMETERS_NONE();
  server_object *o = SERVER();
  pushbus_result r = pushbus_server_stop(o->server);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

void pushbus_server_minit(zend_class_entry *ce) {
  ce->create_object = server_create;
  memcpy(&server_handlers, zend_get_std_object_handlers(), sizeof server_handlers);
  server_handlers.offset = XtOffsetOf(server_object, std);
  server_handlers.free_obj = server_free;
  server_handlers.clone_obj = NULL;
}
