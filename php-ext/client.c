/*
 * Pushbus\Client: the HTTP API client of the library (pushbus_client_*).
 *
 * Persistence: a native client keeps its connection to the server open. PHP objects
 * die with the request, so by default the native client is not the object's: it is
 * shared through a table in the module globals, keyed by the options, and every
 * Pushbus\Client made with the same options in this process uses it. Under PHP-FPM a
 * worker therefore opens one connection and reuses it for every request it serves.
 *
 * Fork: a native client belongs to the process that made it (the library answers
 * PUSHBUS_RESULT_FORKED elsewhere). Each call compares the pid that made the native
 * client with the current one and, in a forked child, makes a new native client
 * first (releasing the parent's without touching it). So a Client made before a fork
 * keeps working on both sides, and the FPM master never needs a connection.
 *
 * trigger() is queued by default: the library writes the request on this thread and
 * reads the answer later (flush(), the next trigger, the end of the request). Every
 * other call blocks the PHP thread until the server answers or the timeout passes.
 * A failure throws Pushbus\Exception: a failed delivery is never silent.
 */
#include "php_pushbus.h"

#include <unistd.h>

#include "zend_exceptions.h"
#include "zend_interfaces.h"
#include "zend_smart_str.h"

typedef struct {
  /* What the native client is made from, kept to rebuild it after a fork. */
  zend_string *host;
  zend_string *app_id;
  zend_string *key;
  zend_string *secret;
  uint16_t port;
  bool tls;
  uint32_t timeout_ms;
  bool has_master_key;
  uint8_t master_key[32];
  /* trigger() queues (pushbus_client_trigger_queued) rather than waiting. */
  bool queued;
  /* The native client: an entry of PUSHBUS_G(clients) when persistent (not owned
   * here), else `own`. NULL until the constructor succeeded. */
  pushbus_shared_client *shared;
  pushbus_shared_client own;
  zend_object std;
} client_object;

static zend_object_handlers client_handlers;

static inline client_object *client_from(zend_object *obj) {
  return (client_object *)((char *)obj - XtOffsetOf(client_object, std));
}

static zend_object *client_create(zend_class_entry *ce) {
  client_object *o = zend_object_alloc(sizeof(client_object), ce);
  zend_object_std_init(&o->std, ce);
  object_properties_init(&o->std, ce);
  o->std.handlers = &client_handlers;
  return &o->std;
}

static void client_free(zend_object *obj) {
  client_object *o = client_from(obj);
  if (o->shared == &o->own) {
    /* Its own native client goes with it: what it queued is answered or reported now. */
    pushbus_flush_and_warn(&o->own);
    if (o->own.native && pushbus_forked(o->own.pid)) {
      pushbus_park(o->own.native);
    } else {
      pushbus_client_free(o->own.native);
    }
  }
  if (o->host) zend_string_release(o->host);
  if (o->app_id) zend_string_release(o->app_id);
  if (o->key) zend_string_release(o->key);
  /* Not zeroed: the secret string is shared with the caller's options array. */
  if (o->secret) zend_string_release(o->secret);
  zend_object_std_dtor(obj);
}

/* The native client for this process: made, or made again after a fork, on demand.
 * NULL with an exception thrown. */
static pushbus_client *native(client_object *o) {
  pushbus_shared_client *s = o->shared;
  if (s == NULL) {
    zend_throw_error(NULL, "Pushbus\\Client was not constructed");
    return NULL;
  }
  pid_t pid = getpid();
  if (s->native && s->pid != pid) {
    pushbus_park(s->native); /* the parent's: kept, never touched */
    s->native = NULL;
  }
  if (s->native == NULL) {
    pushbus_client *c = NULL;
    pushbus_result r = pushbus_client_new(
        ZSTR_VAL(o->host), ZSTR_LEN(o->host), o->port, o->tls, ZSTR_VAL(o->app_id),
        ZSTR_LEN(o->app_id), ZSTR_VAL(o->key), ZSTR_LEN(o->key), ZSTR_VAL(o->secret),
        ZSTR_LEN(o->secret), o->timeout_ms, o->has_master_key ? o->master_key : NULL, &c);
    if (r != PUSHBUS_RESULT_OK) {
      pushbus_throw(r);
      return NULL;
    }
    s->native = c;
    s->pid = pid;
    s->timeout_ms = o->timeout_ms;
    s->queued = false;
  }
  return s->native;
}

#define CLIENT() client_from(Z_OBJ_P(ZEND_THIS))

/* An option that is a string or a number (environment values are strings). NULL when
 * absent; throws and sets *failed when of another type. */
static zend_string *string_option(HashTable *options, const char *name, bool *failed) {
  zval *v = zend_hash_str_find_deref(options, name, strlen(name));
  if (v == NULL || Z_TYPE_P(v) == IS_NULL) {
    return NULL;
  }
  if (Z_TYPE_P(v) != IS_STRING && Z_TYPE_P(v) != IS_LONG) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "option \"%s\" must be a string, got %s", name,
                      zend_zval_type_name(v));
    *failed = true;
    return NULL;
  }
  return zval_get_string(v);
}

/* A numeric option (int, float or numeric string). Returns false when absent;
 * throws and sets *failed when not a number. */
static bool number_option(HashTable *options, const char *name, double *out, bool *failed) {
  zval *v = zend_hash_str_find_deref(options, name, strlen(name));
  if (v == NULL || Z_TYPE_P(v) == IS_NULL) {
    return false;
  }
  if (Z_TYPE_P(v) == IS_LONG) {
    *out = (double)Z_LVAL_P(v);
    return true;
  }
  if (Z_TYPE_P(v) == IS_DOUBLE) {
    *out = Z_DVAL_P(v);
    return true;
  }
  if (Z_TYPE_P(v) == IS_STRING) {
    zend_long l;
    double d;
    zend_uchar type = is_numeric_string(Z_STRVAL_P(v), Z_STRLEN_P(v), &l, &d, false);
    if (type == IS_LONG) {
      *out = (double)l;
      return true;
    }
    if (type == IS_DOUBLE) {
      *out = d;
      return true;
    }
  }
  pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "option \"%s\" must be a number", name);
  *failed = true;
  return false;
}

static bool bool_option(HashTable *options, const char *name, bool fallback) {
  zval *v = zend_hash_str_find_deref(options, name, strlen(name));
  return (v == NULL || Z_TYPE_P(v) == IS_NULL) ? fallback : zend_is_true(v);
}

static bool required(zend_string *value, const char *name, bool failed) {
  if (failed) {
    return false;
  }
  if (value == NULL || ZSTR_LEN(value) == 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "option \"%s\" is required", name);
    return false;
  }
  return true;
}

/* The key of the shared-clients table: every option, each length-prefixed. */
static zend_string *shared_key(client_object *o) {
  smart_str k = {0};
  zend_string *parts[] = {o->host, o->app_id, o->key, o->secret};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    smart_str_append_unsigned(&k, ZSTR_LEN(parts[i]));
    smart_str_appendc(&k, ':');
    smart_str_append(&k, parts[i]);
  }
  smart_str_append_printf(&k, "|%u|%d|%u|", (unsigned)o->port, (int)o->tls, (unsigned)o->timeout_ms);
  if (o->has_master_key) {
    smart_str_appendl(&k, (const char *)o->master_key, sizeof o->master_key);
  }
  smart_str_0(&k);
  return k.s;
}

ZEND_METHOD(Pushbus_Client, __construct) {
  HashTable *options;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_ARRAY_HT(options)
  ZEND_PARSE_PARAMETERS_END();

  client_object *o = CLIENT();
  if (o->shared) {
    zend_throw_error(NULL, "Pushbus\\Client is already constructed");
    RETURN_THROWS();
  }
  bool failed = false;
  zend_string *host = string_option(options, "host", &failed);
  zend_string *scheme = failed ? NULL : string_option(options, "scheme", &failed);
  zend_string *app_id = failed ? NULL : string_option(options, "app_id", &failed);
  zend_string *key = failed ? NULL : string_option(options, "key", &failed);
  zend_string *secret = failed ? NULL : string_option(options, "secret", &failed);
  zend_string *master_key = failed ? NULL : string_option(options, "encryption_master_key_base64", &failed);
  double port = 0, timeout = 5;
  bool has_port = !failed && number_option(options, "port", &port, &failed);
  if (!failed) {
    number_option(options, "timeout", &timeout, &failed);
  }
  bool tls = bool_option(options, "useTLS", false);
  bool ok = required(app_id, "app_id", failed) && required(key, "key", failed) &&
            required(secret, "secret", failed);
  if (ok && scheme) {
    if (zend_string_equals_literal_ci(scheme, "https")) {
      tls = true;
    } else if (zend_string_equals_literal_ci(scheme, "http")) {
      tls = false;
    } else {
      pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "option \"scheme\" must be \"http\" or \"https\"");
      ok = false;
    }
  }
  if (ok && has_port && (port < 1 || port > 65535 || port != (double)(zend_long)port)) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "option \"port\" must be an integer from 1 to 65535");
    ok = false;
  }
  if (ok && !(timeout > 0 && timeout <= 3600)) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "option \"timeout\" must be seconds, more than 0 and at most 3600");
    ok = false;
  }
  if (ok && master_key) {
    ok = pushbus_master_key(master_key, o->master_key);
    o->has_master_key = ok;
  }
  if (scheme) zend_string_release(scheme);
  if (master_key) zend_string_release(master_key);
  /* Owned by the object from here on (released by client_free). */
  o->host = host ? host : zend_string_init("127.0.0.1", sizeof("127.0.0.1") - 1, 0);
  o->app_id = app_id ? app_id : ZSTR_EMPTY_ALLOC();
  o->key = key ? key : ZSTR_EMPTY_ALLOC();
  o->secret = secret ? secret : ZSTR_EMPTY_ALLOC();
  if (!ok) {
    RETURN_THROWS();
  }
  o->port = has_port ? (uint16_t)port : (tls ? 443 : 80);
  o->tls = tls;
  o->queued = bool_option(options, "queued", true);
  o->timeout_ms = timeout * 1000 < 1 ? 1 : (uint32_t)(timeout * 1000);

  if (bool_option(options, "persistent", true)) {
    zend_string *k = shared_key(o);
    pushbus_shared_client *s = zend_hash_find_ptr(&PUSHBUS_G(clients), k);
    bool added = false;
    if (s == NULL) {
      s = pecalloc(1, sizeof *s, 1);
      zend_string *pk = zend_string_init(ZSTR_VAL(k), ZSTR_LEN(k), 1);
      zend_hash_add_new_ptr(&PUSHBUS_G(clients), pk, s);
      zend_string_release(pk);
      added = true;
    }
    ZEND_SECURE_ZERO(ZSTR_VAL(k), ZSTR_LEN(k));
    zend_string_release(k);
    o->shared = s;
    if (native(o) == NULL) {
      if (added) {
        /* Options the library refuses: do not keep an empty entry. */
        zend_string *pk = shared_key(o);
        zend_hash_del(&PUSHBUS_G(clients), pk);
        zend_string_release(pk);
      }
      o->shared = NULL;
      RETURN_THROWS();
    }
  } else {
    o->shared = &o->own;
    if (native(o) == NULL) {
      o->shared = NULL;
      RETURN_THROWS();
    }
  }
}

ZEND_METHOD(Pushbus_Client, trigger) {
  zend_string *channel = NULL, *event, *socket_id = NULL;
  HashTable *channels = NULL;
  zval *data;
  ZEND_PARSE_PARAMETERS_START(3, 4)
    Z_PARAM_ARRAY_HT_OR_STR(channels, channel)
    Z_PARAM_STR(event)
    Z_PARAM_ZVAL(data)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(socket_id)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
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
  client_object *o = CLIENT();
  pushbus_result r;
  if (o->queued) {
    /* An earlier queued trigger that failed is thrown now, before queuing more. */
    r = pushbus_client_flush(c, 0, NULL);
    if (r == PUSHBUS_RESULT_OK) {
      r = pushbus_client_trigger_queued(c, names ? names : &none, n, ZSTR_VAL(event), ZSTR_LEN(event),
                                        ZSTR_VAL(payload), ZSTR_LEN(payload), socket_id ? ZSTR_VAL(socket_id) : NULL,
                                        socket_id ? ZSTR_LEN(socket_id) : 0);
      if (r == PUSHBUS_RESULT_OK) {
        o->shared->queued = true;
      }
    }
  } else {
    r = pushbus_client_trigger(c, names ? names : &none, n, ZSTR_VAL(event), ZSTR_LEN(event), ZSTR_VAL(payload),
                               ZSTR_LEN(payload), socket_id ? ZSTR_VAL(socket_id) : NULL,
                               socket_id ? ZSTR_LEN(socket_id) : 0);
  }
  zend_string_release(payload);
  if (names) efree(names);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Client, flush) {
  double timeout = 0;
  bool timeout_null = true;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_DOUBLE_OR_NULL(timeout, timeout_null)
  ZEND_PARSE_PARAMETERS_END();

  client_object *o = CLIENT();
  pushbus_client *c = native(o);
  if (c == NULL) {
    RETURN_THROWS();
  }
  if (!timeout_null && !(timeout >= 0 && timeout <= 3600)) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "the timeout must be 0 to 3600 seconds");
    RETURN_THROWS();
  }
  uint32_t ms = timeout_null ? o->timeout_ms : (uint32_t)(timeout * 1000);
  size_t pending = 0;
  pushbus_result r = pushbus_client_flush(c, ms, &pending);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  if (pending > 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_TIMEOUT, "%zu queued triggers are not answered after %u ms", pending,
                      (unsigned)ms);
    RETURN_THROWS();
  }
  o->shared->queued = false;
}

/* A string field of a batch item, borrowed from the array. */
static bool batch_string(HashTable *item, uint32_t i, const char *name, bool optional, pushbus_str *out) {
  zval *v = zend_hash_str_find_deref(item, name, strlen(name));
  if (v == NULL || Z_TYPE_P(v) == IS_NULL) {
    if (optional) {
      out->data = NULL;
      out->len = 0;
      return true;
    }
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "events[%u] has no \"%s\"", i, name);
    return false;
  }
  if (Z_TYPE_P(v) != IS_STRING) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "events[%u][\"%s\"] must be a string", i, name);
    return false;
  }
  *out = pushbus_zstr(Z_STR_P(v));
  return true;
}

ZEND_METHOD(Pushbus_Client, triggerBatch) {
  HashTable *events;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_ARRAY_HT(events)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  uint32_t n = zend_hash_num_elements(events);
  if (n == 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "a batch needs at least one event");
    RETURN_THROWS();
  }
  pushbus_batch_event *batch = safe_emalloc(n, sizeof(pushbus_batch_event), 0);
  zend_string **payloads = ecalloc(n, sizeof(zend_string *));
  uint32_t i = 0;
  bool ok = true;
  zval *item;
  ZEND_HASH_FOREACH_VAL(events, item) {
    ZVAL_DEREF(item);
    if (Z_TYPE_P(item) != IS_ARRAY) {
      pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "events[%u] must be an array", i);
      ok = false;
      break;
    }
    HashTable *h = Z_ARRVAL_P(item);
    zval *data = zend_hash_str_find_deref(h, "data", sizeof("data") - 1);
    if (!batch_string(h, i, "channel", false, &batch[i].channel) ||
        !batch_string(h, i, "name", false, &batch[i].name) ||
        !batch_string(h, i, "socket_id", true, &batch[i].socket_id)) {
      ok = false;
      break;
    }
    if (data == NULL) {
      pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "events[%u] has no \"data\"", i);
      ok = false;
      break;
    }
    payloads[i] = pushbus_encode_data(data);
    if (payloads[i] == NULL) {
      ok = false;
      break;
    }
    batch[i].data = pushbus_zstr(payloads[i]);
    i++;
  }
  ZEND_HASH_FOREACH_END();
  pushbus_result r = ok ? pushbus_client_trigger_batch(c, batch, n) : PUSHBUS_RESULT_OK;
  for (uint32_t j = 0; j < n; j++) {
    if (payloads[j]) zend_string_release(payloads[j]);
  }
  efree(payloads);
  efree(batch);
  if (!ok) {
    RETURN_THROWS();
  }
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Client, sendToUser) {
  zend_string *user_id, *event;
  zval *data;
  ZEND_PARSE_PARAMETERS_START(3, 3)
    Z_PARAM_STR(user_id)
    Z_PARAM_STR(event)
    Z_PARAM_ZVAL(data)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  zend_string *payload = pushbus_encode_data(data);
  if (payload == NULL) {
    RETURN_THROWS();
  }
  pushbus_result r = pushbus_client_send_to_user(c, ZSTR_VAL(user_id), ZSTR_LEN(user_id), ZSTR_VAL(event),
                                                 ZSTR_LEN(event), ZSTR_VAL(payload), ZSTR_LEN(payload));
  zend_string_release(payload);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Client, channels) {
  zend_string *prefix = NULL, *info = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 2)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(prefix)
    Z_PARAM_STR_OR_NULL(info)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r = pushbus_client_channels(c, prefix ? ZSTR_VAL(prefix) : NULL, prefix ? ZSTR_LEN(prefix) : 0,
                                             info ? ZSTR_VAL(info) : NULL, info ? ZSTR_LEN(info) : 0, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_return_json(json, return_value);
}

ZEND_METHOD(Pushbus_Client, channel) {
  zend_string *channel, *info = NULL;
  ZEND_PARSE_PARAMETERS_START(1, 2)
    Z_PARAM_STR(channel)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(info)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r = pushbus_client_channel(c, ZSTR_VAL(channel), ZSTR_LEN(channel), info ? ZSTR_VAL(info) : NULL,
                                            info ? ZSTR_LEN(info) : 0, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_return_json(json, return_value);
}

ZEND_METHOD(Pushbus_Client, users) {
  zend_string *channel;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_STR(channel)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r = pushbus_client_users(c, ZSTR_VAL(channel), ZSTR_LEN(channel), &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_return_json(json, return_value);
}

ZEND_METHOD(Pushbus_Client, terminateUserConnections) {
  zend_string *user_id;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_STR(user_id)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  pushbus_result r = pushbus_client_terminate_user_connections(c, ZSTR_VAL(user_id), ZSTR_LEN(user_id));
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
}

ZEND_METHOD(Pushbus_Client, userStatus) {
  zend_string *user_id;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_STR(user_id)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r = pushbus_client_user_status(c, ZSTR_VAL(user_id), ZSTR_LEN(user_id), &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_return_json(json, return_value);
}

ZEND_METHOD(Pushbus_Client, onlineUsers) {
  zend_string *after = NULL;
  zend_long limit = 100;
  ZEND_PARSE_PARAMETERS_START(0, 2)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR(after)
    Z_PARAM_LONG(limit)
  ZEND_PARSE_PARAMETERS_END();

  if (limit < 0) {
    /* The server checks the range; a negative number has no size_t to pass it as. */
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit must not be negative, got " ZEND_LONG_FMT, limit);
    RETURN_THROWS();
  }
  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r = pushbus_client_online_users(c, after ? ZSTR_VAL(after) : NULL, after ? ZSTR_LEN(after) : 0,
                                                 (size_t)limit, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_return_json(json, return_value);
}

ZEND_METHOD(Pushbus_Client, deliveryLog) {
  zend_long limit = 100;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(limit)
  ZEND_PARSE_PARAMETERS_END();

  if (limit < 0) {
    /* The server checks the range; a negative number has no size_t to pass it as. */
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit must not be negative, got " ZEND_LONG_FMT, limit);
    RETURN_THROWS();
  }
  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r = pushbus_client_delivery_log(c, (size_t)limit, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  /* The records, as Server::deliveryLog() gives them (not the {"events": ...} answer). */
  pushbus_return_json_member(json, "events", return_value);
}

ZEND_METHOD(Pushbus_Client, history) {
  zend_string *channel;
  zend_long since = 0, limit = 100;
  ZEND_PARSE_PARAMETERS_START(1, 3)
    Z_PARAM_STR(channel)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(since)
    Z_PARAM_LONG(limit)
  ZEND_PARSE_PARAMETERS_END();

  /* The server checks the range; a negative number has no unsigned type to pass it as. */
  if (since < 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "since must not be negative, got " ZEND_LONG_FMT, since);
    RETURN_THROWS();
  }
  if (limit < 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "limit must not be negative, got " ZEND_LONG_FMT, limit);
    RETURN_THROWS();
  }
  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  char *json = NULL;
  pushbus_result r =
      pushbus_client_history(c, ZSTR_VAL(channel), ZSTR_LEN(channel), (uint64_t)since, (size_t)limit, &json);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  pushbus_return_json(json, return_value);
}

ZEND_METHOD(Pushbus_Client, setUserLocation) {
  zend_string *user_id, *location;
  ZEND_PARSE_PARAMETERS_START(2, 2)
    Z_PARAM_STR(user_id)
    Z_PARAM_STR_OR_NULL(location)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_client *c = native(CLIENT());
  if (c == NULL) {
    RETURN_THROWS();
  }
  pushbus_str where = pushbus_zstr(location);
  bool online = false;
  pushbus_result r =
      pushbus_client_set_user_location(c, ZSTR_VAL(user_id), ZSTR_LEN(user_id), where.data, where.len, &online);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETURN_BOOL(online);
}

void pushbus_client_minit(zend_class_entry *ce) {
  ce->create_object = client_create;
  memcpy(&client_handlers, zend_get_std_object_handlers(), sizeof client_handlers);
  client_handlers.offset = XtOffsetOf(client_object, std);
  client_handlers.free_obj = client_free;
  client_handlers.clone_obj = NULL;
}
