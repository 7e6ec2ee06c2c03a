/*
 * Pushbus\Auth: the signatures of an auth endpoint and of the HTTP API, over the
 * library's pure functions (no I/O, no threads). Answers are built as PHP arrays and
 * json_encode()d with PHP's default flags, which gives the bytes the Pusher PHP SDK
 * (and so Laravel's PusherBroadcaster) returns.
 */
#include "php_pushbus.h"

#include "ext/json/php_json.h"
#include "ext/standard/url.h"
#include "zend_smart_str.h"

#define PREFIX_ENCRYPTED "private-encrypted-"

static zend_string *json_of(zval *value) {
  smart_str buf = {0};
  php_json_encode(&buf, value, 0); /* strings from the library and PHP strings: cannot fail */
  smart_str_0(&buf);
  return buf.s ? buf.s : ZSTR_EMPTY_ALLOC();
}

/* Adds the library string `s` to `array` under `key`, and frees it. */
static void add_owned(zval *array, const char *key, char *s) {
  add_assoc_string(array, key, s);
  pushbus_string_free(s);
}

ZEND_METHOD(Pushbus_Auth, authorizeChannel) {
  zend_string *key, *secret, *socket_id, *channel;
  zend_string *channel_data = NULL, *master_key_b64 = NULL;
  ZEND_PARSE_PARAMETERS_START(4, 6)
    Z_PARAM_STR(key)
    Z_PARAM_STR(secret)
    Z_PARAM_STR(socket_id)
    Z_PARAM_STR(channel)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(channel_data)
    Z_PARAM_STR_OR_NULL(master_key_b64)
  ZEND_PARSE_PARAMETERS_END();

  bool encrypted = zend_string_starts_with_literal(channel, PREFIX_ENCRYPTED);
  uint8_t master_key[32];
  if (encrypted) {
    if (master_key_b64 == NULL) {
      pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT,
                        "%s channels need the encryption master key (encryptionMasterKeyBase64)",
                        PREFIX_ENCRYPTED);
      RETURN_THROWS();
    }
    if (!pushbus_master_key(master_key_b64, master_key)) {
      RETURN_THROWS();
    }
  }

  char *auth = NULL;
  pushbus_result r = pushbus_auth_channel(
      ZSTR_VAL(key), ZSTR_LEN(key), ZSTR_VAL(secret), ZSTR_LEN(secret), ZSTR_VAL(socket_id),
      ZSTR_LEN(socket_id), ZSTR_VAL(channel), ZSTR_LEN(channel),
      channel_data ? ZSTR_VAL(channel_data) : NULL, channel_data ? ZSTR_LEN(channel_data) : 0, &auth);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  char *shared_secret = NULL;
  if (encrypted) {
    r = pushbus_auth_shared_secret(ZSTR_VAL(channel), ZSTR_LEN(channel), master_key, &shared_secret);
    if (r != PUSHBUS_RESULT_OK) {
      pushbus_string_free(auth);
      pushbus_throw(r);
      RETURN_THROWS();
    }
  }

  zval answer;
  array_init(&answer);
  add_owned(&answer, "auth", auth);
  if (channel_data) {
    add_assoc_str(&answer, "channel_data", zend_string_copy(channel_data));
  }
  if (shared_secret) {
    add_owned(&answer, "shared_secret", shared_secret);
  }
  RETVAL_STR(json_of(&answer));
  zval_ptr_dtor(&answer);
}

ZEND_METHOD(Pushbus_Auth, authenticateUser) {
  zend_string *key, *secret, *socket_id;
  zval *zuser_data;
  ZEND_PARSE_PARAMETERS_START(4, 4)
    Z_PARAM_STR(key)
    Z_PARAM_STR(secret)
    Z_PARAM_STR(socket_id)
    Z_PARAM_ZVAL(zuser_data) /* string|array, checked by the arginfo */
  ZEND_PARSE_PARAMETERS_END();

  if (Z_TYPE_P(zuser_data) != IS_STRING && Z_TYPE_P(zuser_data) != IS_ARRAY) {
    zend_argument_type_error(4, "must be of type array|string, %s given", zend_zval_type_name(zuser_data));
    RETURN_THROWS();
  }
  /* A string is signed as given; an array is json_encode()d first. */
  zend_string *user_data = pushbus_encode_data(zuser_data);
  if (user_data == NULL) {
    RETURN_THROWS();
  }

  char *auth = NULL;
  pushbus_result r = pushbus_auth_user(ZSTR_VAL(key), ZSTR_LEN(key), ZSTR_VAL(secret), ZSTR_LEN(secret),
                                       ZSTR_VAL(socket_id), ZSTR_LEN(socket_id), ZSTR_VAL(user_data),
                                       ZSTR_LEN(user_data), &auth);
  if (r != PUSHBUS_RESULT_OK) {
    zend_string_release(user_data);
    pushbus_throw(r);
    RETURN_THROWS();
  }
  zval answer;
  array_init(&answer);
  add_owned(&answer, "auth", auth);
  add_assoc_str(&answer, "user_data", user_data); /* takes our reference */
  RETVAL_STR(json_of(&answer));
  zval_ptr_dtor(&answer);
}

ZEND_METHOD(Pushbus_Auth, verifyWebhook) {
  zend_string *key, *secret, *key_header, *signature_header, *body;
  ZEND_PARSE_PARAMETERS_START(5, 5)
    Z_PARAM_STR(key)
    Z_PARAM_STR(secret)
    Z_PARAM_STR(key_header)
    Z_PARAM_STR(signature_header)
    Z_PARAM_STR(body)
  ZEND_PARSE_PARAMETERS_END();

  pushbus_result r = pushbus_webhook_verify(
      ZSTR_VAL(key), ZSTR_LEN(key), ZSTR_VAL(secret), ZSTR_LEN(secret), ZSTR_VAL(key_header),
      ZSTR_LEN(key_header), ZSTR_VAL(signature_header), ZSTR_LEN(signature_header),
      (const uint8_t *)ZSTR_VAL(body), ZSTR_LEN(body));
  if (r == PUSHBUS_RESULT_OK) {
    RETURN_TRUE;
  }
  if (r == PUSHBUS_RESULT_INVALID_SIGNATURE) {
    RETURN_FALSE;
  }
  pushbus_throw(r);
  RETURN_THROWS();
}

ZEND_METHOD(Pushbus_Auth, sharedSecret) {
  zend_string *channel, *master_key_b64;
  ZEND_PARSE_PARAMETERS_START(2, 2)
    Z_PARAM_STR(channel)
    Z_PARAM_STR(master_key_b64)
  ZEND_PARSE_PARAMETERS_END();

  uint8_t master_key[32];
  if (!pushbus_master_key(master_key_b64, master_key)) {
    RETURN_THROWS();
  }
  char *secret = NULL;
  pushbus_result r = pushbus_auth_shared_secret(ZSTR_VAL(channel), ZSTR_LEN(channel), master_key, &secret);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETVAL_STRING(secret);
  pushbus_string_free(secret);
}

ZEND_METHOD(Pushbus_Auth, encryptData) {
  zend_string *channel, *master_key_b64, *plaintext, *nonce = NULL;
  ZEND_PARSE_PARAMETERS_START(3, 4)
    Z_PARAM_STR(channel)
    Z_PARAM_STR(master_key_b64)
    Z_PARAM_STR(plaintext)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(nonce)
  ZEND_PARSE_PARAMETERS_END();

  uint8_t master_key[32];
  if (!pushbus_master_key(master_key_b64, master_key)) {
    RETURN_THROWS();
  }
  if (nonce && ZSTR_LEN(nonce) != 24) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "the nonce must be 24 bytes, got %zu",
                      ZSTR_LEN(nonce));
    RETURN_THROWS();
  }
  char *data = NULL;
  pushbus_result r = pushbus_auth_encrypt_data(
      ZSTR_VAL(channel), ZSTR_LEN(channel), master_key, ZSTR_VAL(plaintext), ZSTR_LEN(plaintext),
      nonce ? (const uint8_t *)ZSTR_VAL(nonce) : NULL, &data);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETVAL_STRING(data);
  pushbus_string_free(data);
}

ZEND_METHOD(Pushbus_Auth, signRequest) {
  zend_string *key, *secret, *method, *path, *body = NULL;
  HashTable *query = NULL;
  zend_long timestamp = 0;
  ZEND_PARSE_PARAMETERS_START(4, 7)
    Z_PARAM_STR(key)
    Z_PARAM_STR(secret)
    Z_PARAM_STR(method)
    Z_PARAM_STR(path)
    Z_PARAM_OPTIONAL
    Z_PARAM_ARRAY_HT(query)
    Z_PARAM_STR(body)
    Z_PARAM_LONG(timestamp)
  ZEND_PARSE_PARAMETERS_END();

  if (timestamp < 0) {
    pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "the timestamp must be 0 (now) or Unix seconds");
    RETURN_THROWS();
  }
  /* The extra parameters as a query string, percent-encoded as in a URL. */
  smart_str extra = {0};
  if (query) {
    zend_string *name;
    zend_ulong index;
    zval *value;
    ZEND_HASH_FOREACH_KEY_VAL(query, index, name, value) {
      ZVAL_DEREF(value);
      if (Z_TYPE_P(value) == IS_ARRAY || Z_TYPE_P(value) == IS_OBJECT) {
        smart_str_free(&extra);
        pushbus_throw_msg(PUSHBUS_RESULT_INVALID_ARGUMENT, "query values must be scalars");
        RETURN_THROWS();
      }
      zend_string *n = name ? zend_string_copy(name) : zend_long_to_str((zend_long)index);
      zend_string *v = zval_get_string(value);
      zend_string *en = php_raw_url_encode(ZSTR_VAL(n), ZSTR_LEN(n));
      zend_string *ev = php_raw_url_encode(ZSTR_VAL(v), ZSTR_LEN(v));
      if (extra.s) {
        smart_str_appendc(&extra, '&');
      }
      smart_str_append(&extra, en);
      smart_str_appendc(&extra, '=');
      smart_str_append(&extra, ev);
      zend_string_release(n);
      zend_string_release(v);
      zend_string_release(en);
      zend_string_release(ev);
    }
    ZEND_HASH_FOREACH_END();
  }
  smart_str_0(&extra);

  char *signed_query = NULL;
  pushbus_result r = pushbus_rest_sign(
      ZSTR_VAL(key), ZSTR_LEN(key), ZSTR_VAL(secret), ZSTR_LEN(secret), ZSTR_VAL(method),
      ZSTR_LEN(method), ZSTR_VAL(path), ZSTR_LEN(path), extra.s ? ZSTR_VAL(extra.s) : NULL,
      extra.s ? ZSTR_LEN(extra.s) : 0, body ? (const uint8_t *)ZSTR_VAL(body) : (const uint8_t *)"",
      body ? ZSTR_LEN(body) : 0, (uint64_t)timestamp, &signed_query);
  smart_str_free(&extra);
  if (r != PUSHBUS_RESULT_OK) {
    pushbus_throw(r);
    RETURN_THROWS();
  }
  RETVAL_STRING(signed_query);
  pushbus_string_free(signed_query);
}
