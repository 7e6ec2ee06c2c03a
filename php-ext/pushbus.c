/*
 * The module: class registration, Pushbus\Exception, the helpers shared by the
 * classes, and the table of shared native clients.
 *
 * Nothing here starts a thread. A plain-http Client does its I/O on the PHP thread;
 * the library builds its runtime on first use by a Server or an https Client, which
 * under PHP-FPM happens in a worker, after the master forked it.
 */
#include "php_pushbus.h"

#include <stdarg.h>

#include "ext/json/php_json.h"
#include "ext/spl/spl_exceptions.h"
#include "ext/standard/base64.h"
#include "ext/standard/info.h"
#include "zend_exceptions.h"
#include "zend_smart_str.h"

#include "pushbus_arginfo.h"

zend_class_entry *pushbus_ce_exception;
zend_class_entry *pushbus_ce_auth;
zend_class_entry *pushbus_ce_client;
zend_class_entry *pushbus_ce_server;

ZEND_DECLARE_MODULE_GLOBALS(pushbus)

void pushbus_client_minit(zend_class_entry *ce);
void pushbus_server_minit(zend_class_entry *ce);

void pushbus_throw(pushbus_result r) {
  const char *message = pushbus_last_error_message();
  if (message == NULL || message[0] == '\0') {
    message = pushbus_result_text(r);
  }
  zend_throw_exception(pushbus_ce_exception, message, (zend_long)r);
}

void pushbus_throw_msg(pushbus_result r, const char *format, ...) {
  va_list args;
  va_start(args, format);
  zend_string *message = zend_vstrpprintf(0, format, args);
  va_end(args);
  zend_throw_exception(pushbus_ce_exception, ZSTR_VAL(message), (zend_long)r);
  zend_string_release(message);
}

zend_string *pushbus_encode_data(zval *data) {
  if (Z_TYPE_P(data) == IS_STRING) {
    return zend_string_copy(Z_STR_P(data));
  }
  smart_str buf = {0};
  /* json_last_error() stays what the application's last json_* call left. */
  php_json_error_code saved = JSON_G(error_code);
  zend_result encoded = php_json_encode(&buf, data, 0);
  php_json_error_code error = JSON_G(error_code);
  JSON_G(error_code) = saved;
  if (encoded == FAILURE || error != PHP_JSON_ERROR_NONE || EG(exception)) {
    smart_str_free(&buf);
    if (EG(exception)) {
      return NULL; /* thrown while encoding (by a JsonSerializable) */
    }
    /* The rare failure path: json_encode(..., JSON_THROW_ON_ERROR) itself makes the
     * JsonException with PHP's message, kept as the previous of ours. */
    zval fn, args[2], rv;
    ZVAL_STRING(&fn, "json_encode");
    ZVAL_COPY_VALUE(&args[0], data);
    ZVAL_LONG(&args[1], PHP_JSON_THROW_ON_ERROR);
    ZVAL_UNDEF(&rv);
    call_user_function(NULL, NULL, &fn, &rv, 2, args);
    zval_ptr_dtor(&fn);
    zval_ptr_dtor(&rv);
    zend_object *cause = EG(exception);
    const char *why = "unknown error";
    if (cause) {
      GC_ADDREF(cause);
      zend_clear_exception();
      zval mrv;
      zval *m = zend_read_property(zend_ce_exception, cause, "message", sizeof("message") - 1, 1, &mrv);
      if (m && Z_TYPE_P(m) == IS_STRING) {
        why = Z_STRVAL_P(m);
      }
    }
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "the event data cannot be encoded as JSON: %s", why);
    if (cause) {
      zend_exception_set_previous(EG(exception), cause);
    }
    return NULL;
  }
  smart_str_0(&buf);
  return buf.s ? buf.s : ZSTR_EMPTY_ALLOC();
}

bool pushbus_channels_arg(zend_string *one, HashTable *many, pushbus_str **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (one) {
    *out = emalloc(sizeof(pushbus_str));
    (*out)[0] = pushbus_zstr(one);
    *out_len = 1;
    return true;
  }
  uint32_t n = zend_hash_num_elements(many);
  if (n == 0) {
    return true; /* the library refuses it with its own code (NO_CHANNELS) */
  }
  pushbus_str *channels = safe_emalloc(n, sizeof(pushbus_str), 0);
  size_t i = 0;
  zval *entry;
  ZEND_HASH_FOREACH_VAL(many, entry) {
    ZVAL_DEREF(entry);
    if (Z_TYPE_P(entry) != IS_STRING) {
      efree(channels);
      pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "channel names must be strings, got %s",
                        zend_zval_type_name(entry));
      return false;
    }
    channels[i++] = pushbus_zstr(Z_STR_P(entry));
  }
  ZEND_HASH_FOREACH_END();
  *out = channels;
  *out_len = i;
  return true;
}

bool pushbus_return_json(char *json, zval *return_value) {
  int ok = php_json_decode_ex(return_value, json, strlen(json), PHP_JSON_OBJECT_AS_ARRAY,
                              PHP_JSON_PARSER_DEFAULT_DEPTH);
  pushbus_string_free(json);
  if (ok == FAILURE || Z_TYPE_P(return_value) != IS_ARRAY) {
    zval_ptr_dtor(return_value);
    ZVAL_NULL(return_value);
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_RESPONSE, "the answer is not a JSON object");
    return false;
  }
  return true;
}

bool pushbus_return_json_member(char *json, const char *key, zval *return_value) {
  zval answer;
  if (!pushbus_return_json(json, &answer)) {
    return false;
  }
  zval *member = zend_hash_str_find(Z_ARRVAL(answer), key, strlen(key));
  if (member && Z_TYPE_P(member) == IS_ARRAY) {
    ZVAL_COPY(return_value, member);
  } else {
    array_init(return_value);
  }
  zval_ptr_dtor(&answer);
  return true;
}

bool pushbus_master_key(zend_string *base64, uint8_t out[32]) {
  zend_string *raw = php_base64_decode_ex((const unsigned char *)ZSTR_VAL(base64), ZSTR_LEN(base64), 1);
  if (raw == NULL || ZSTR_LEN(raw) != 32) {
    if (raw) {
      zend_string_release(raw);
    }
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT,
                      "the encryption master key must be 32 bytes, base64-encoded");
    return false;
  }
  memcpy(out, ZSTR_VAL(raw), 32);
  zend_string_release(raw);
  return true;
}

ZEND_FUNCTION(Pushbus_version) {
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_STRING(pushbus_version());
}

/* Parked handles of parent processes; never freed (see pushbus_park). Process-wide:
 * fork() copies it into the child, where it stays reachable. */
static void **parked;
static size_t parked_len, parked_cap;

void pushbus_park(void *handle) {
  if (handle == NULL) {
    return;
  }
  if (parked_len == parked_cap) {
    size_t cap = parked_cap ? parked_cap * 2 : 8;
    void **grown = realloc(parked, cap * sizeof(void *));
    if (grown == NULL) {
      return; /* then it is merely unreachable: the library frees nothing either */
    }
    parked = grown;
    parked_cap = cap;
  }
  parked[parked_len++] = handle;
}

static void shared_client_dtor(zval *zv) {
  pushbus_shared_client *shared = Z_PTR_P(zv);
  if (shared->native && pushbus_forked(shared->pid)) {
    pushbus_park(shared->native); /* a parent's: not ours to free */
  } else {
    pushbus_client_free(shared->native);
  }
  pefree(shared, 1);
}

void pushbus_flush_and_warn(pushbus_shared_client *shared) {
  if (!shared->queued || shared->native == NULL || pushbus_forked(shared->pid)) {
    return;
  }
  shared->queued = false;
  size_t pending = 0;
  pushbus_result r = pushbus_client_flush(shared->native, shared->timeout_ms, &pending);
  if (r != PUSHBUS_RESULT_OK) {
    php_error_docref(NULL, E_WARNING, "Pushbus\\Client: a queued trigger failed (code %u): %s", (unsigned)r,
                     pushbus_last_error_message());
  } else if (pending > 0) {
    php_error_docref(NULL, E_WARNING,
                     "Pushbus\\Client: %zu queued triggers were not answered within %u ms; they are still sent",
                     pending, (unsigned)shared->timeout_ms);
  }
}

/* The end of a request: every queued trigger is answered, or reported, by now. */
static PHP_RSHUTDOWN_FUNCTION(pushbus) {
  pushbus_shared_client *shared;
  ZEND_HASH_FOREACH_PTR(&PUSHBUS_G(clients), shared) {
    pushbus_flush_and_warn(shared);
  }
  ZEND_HASH_FOREACH_END();
  return SUCCESS;
}

static PHP_GINIT_FUNCTION(pushbus) {
#if defined(COMPILE_DL_PUSHBUS) && defined(ZTS)
  ZEND_TSRMLS_CACHE_UPDATE();
#endif
  zend_hash_init(&pushbus_globals->clients, 4, NULL, shared_client_dtor, 1);
}

static PHP_GSHUTDOWN_FUNCTION(pushbus) { zend_hash_destroy(&pushbus_globals->clients); }

static PHP_MINIT_FUNCTION(pushbus) {
  pushbus_ce_exception = register_class_Pushbus_Exception(spl_ce_RuntimeException);
  pushbus_ce_auth = register_class_Pushbus_Auth();
  pushbus_ce_client = register_class_Pushbus_Client();
  pushbus_client_minit(pushbus_ce_client);
  pushbus_ce_server = register_class_Pushbus_Server();
  pushbus_server_minit(pushbus_ce_server);
  return SUCCESS;
}

static PHP_MINFO_FUNCTION(pushbus) {
  php_info_print_table_start();
  php_info_print_table_row(2, "pushbus support", "enabled");
  php_info_print_table_row(2, "extension version", PHP_PUSHBUS_VERSION);
  php_info_print_table_row(2, "libpushbus version", pushbus_version());
  php_info_print_table_end();
}

static const zend_module_dep pushbus_deps[] = {
    ZEND_MOD_REQUIRED("json") ZEND_MOD_REQUIRED("spl") ZEND_MOD_END};

zend_module_entry pushbus_module_entry = {
    STANDARD_MODULE_HEADER_EX,
    NULL,
    pushbus_deps,
    "pushbus",
    ext_functions,
    PHP_MINIT(pushbus),
    NULL, /* MSHUTDOWN: the shared clients go with the globals (GSHUTDOWN) */
    NULL,
    PHP_RSHUTDOWN(pushbus),
    PHP_MINFO(pushbus),
    PHP_PUSHBUS_VERSION,
    PHP_MODULE_GLOBALS(pushbus),
    PHP_GINIT(pushbus),
    PHP_GSHUTDOWN(pushbus),
    NULL,
    STANDARD_MODULE_PROPERTIES_EX};

#ifdef COMPILE_DL_PUSHBUS
#ifdef ZTS
ZEND_TSRMLS_CACHE_DEFINE()
#endif
ZEND_GET_MODULE(pushbus)
#endif
