/*
 * Every signature vector of tests/fixtures/vectors.json through the C API: channel
 * authorization (private, presence, encrypted with shared secret), user
 * authentication, webhook verification, REST request signing, event encryption.
 * Plus the error paths of these functions.
 */
#include <stdint.h>

#include "check.h"
#include "vectors.h"

#define KS V_KEY.s, V_KEY.len, V_SECRET.s, V_SECRET.len

/* The value of `name` in a query string, copied into `out`. */
static int query_param(const char *query, const char *name, char *out, size_t cap) {
  size_t nlen = strlen(name);
  const char *p = query;
  while (p && *p) {
    if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      const char *v = p + nlen + 1;
      size_t vlen = strcspn(v, "&");
      if (vlen >= cap) return 0;
      memcpy(out, v, vlen);
      out[vlen] = '\0';
      return 1;
    }
    p = strchr(p, '&');
    if (p) p++;
  }
  return 0;
}

static void channel_vectors(void) {
  size_t shared = 0;
  for (size_t i = 0; i < N_OF(CHANNEL_VECTORS); i++) {
    const channel_vector *v = &CHANNEL_VECTORS[i];
    char *auth = NULL;
    EXPECT_OK(pushbus_auth_channel(KS, v->socket_id.s, v->socket_id.len, v->channel.s,
                                   v->channel.len, v->channel_data.s, v->channel_data.len,
                                   &auth));
    CHECK(auth && strcmp(auth, v->auth.s) == 0, "%s: auth %s, expected %s", v->id,
          auth ? auth : "(null)", v->auth.s);
    pushbus_string_free(auth);
    if (v->shared_secret.s) {
      char *secret = NULL;
      EXPECT_OK(pushbus_auth_shared_secret(v->channel.s, v->channel.len, V_MASTER_KEY, &secret));
      CHECK(secret && strcmp(secret, v->shared_secret.s) == 0, "%s: shared_secret %s", v->id,
            secret ? secret : "(null)");
      pushbus_string_free(secret);
      shared++;
    }
  }
  CHECK(N_OF(CHANNEL_VECTORS) == 9 && shared == 1, "channel vectors: %zu, shared secrets: %zu",
        N_OF(CHANNEL_VECTORS), shared);
}

static void user_vectors(void) {
  for (size_t i = 0; i < N_OF(USER_VECTORS); i++) {
    const user_vector *v = &USER_VECTORS[i];
    char *auth = NULL;
    EXPECT_OK(pushbus_auth_user(KS, v->socket_id.s, v->socket_id.len, v->user_data.s,
                                v->user_data.len, &auth));
    CHECK(auth && strcmp(auth, v->auth.s) == 0, "%s: auth %s", v->id, auth ? auth : "(null)");
    pushbus_string_free(auth);
  }
  CHECK(N_OF(USER_VECTORS) == 3, "user vectors: %zu", N_OF(USER_VECTORS));
}

static void webhook_vectors(void) {
  for (size_t i = 0; i < N_OF(WEBHOOK_VECTORS); i++) {
    const webhook_vector *v = &WEBHOOK_VECTORS[i];
    const uint8_t *body = (const uint8_t *)v->body.s;
    EXPECT_OK(pushbus_webhook_verify(KS, v->key_header.s, v->key_header.len, v->signature.s,
                                     v->signature.len, body, v->body.len));
    /* One byte less of body, a wrong key header, a signature of the wrong case. */
    EXPECT(PUSHBUS_RESULT_INVALID_SIGNATURE,
           pushbus_webhook_verify(KS, v->key_header.s, v->key_header.len, v->signature.s,
                                  v->signature.len, body, v->body.len - 1));
    EXPECT(PUSHBUS_RESULT_INVALID_SIGNATURE,
           pushbus_webhook_verify(KS, S("other-key"), v->signature.s, v->signature.len, body,
                                  v->body.len));
    char upper[65];
    snprintf(upper, sizeof upper, "%s", v->signature.s);
    for (char *c = upper; *c; c++) {
      if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
    }
    EXPECT(PUSHBUS_RESULT_INVALID_SIGNATURE,
           pushbus_webhook_verify(KS, v->key_header.s, v->key_header.len, Z(upper), body,
                                  v->body.len));
  }
  CHECK(N_OF(WEBHOOK_VECTORS) == 2, "webhook vectors: %zu", N_OF(WEBHOOK_VECTORS));
}

static void rest_vectors(void) {
  for (size_t i = 0; i < N_OF(REST_VECTORS); i++) {
    const rest_vector *v = &REST_VECTORS[i];
    char *query = NULL;
    EXPECT_OK(pushbus_rest_sign(KS, v->method.s, v->method.len, v->path.s, v->path.len,
                                v->extra_query.s, v->extra_query.len,
                                (const uint8_t *)v->body.s, v->body.len, v->timestamp,
                                &query));
    char sig[128] = "";
    CHECK(query && query_param(query, "auth_signature", sig, sizeof sig) &&
              strcmp(sig, v->signature.s) == 0,
          "%s: query %s, expected auth_signature=%s", v->id, query ? query : "(null)",
          v->signature.s);
    /* auth_signature comes last, as the SDKs send it. */
    CHECK(query && strstr(query, "&auth_signature=") &&
              strchr(strstr(query, "&auth_signature=") + 1, '&') == NULL,
          "%s: auth_signature is not last in %s", v->id, query ? query : "(null)");
    pushbus_string_free(query);
  }
  CHECK(N_OF(REST_VECTORS) == 11, "rest vectors: %zu", N_OF(REST_VECTORS));

  /* Values are percent-encoded in the result; timestamp 0 means now. */
  char *query = NULL;
  EXPECT_OK(pushbus_rest_sign(KS, S("GET"), S("/apps/3/channels/presence-foobar"),
                              S("info=user_count%2Csubscription_count"),
                              (const uint8_t *)"", 0, 0, &query));
  CHECK(query && strstr(query, "info=user_count%2Csubscription_count") &&
            strstr(query, "auth_timestamp=1") && !strstr(query, "body_md5"),
        "encoded query: %s", query ? query : "(null)");
  pushbus_string_free(query);
}

static void encrypted_vectors(void) {
  for (size_t i = 0; i < N_OF(ENCRYPTED_VECTORS); i++) {
    const encrypted_vector *v = &ENCRYPTED_VECTORS[i];
    char *data = NULL;
    EXPECT_OK(pushbus_auth_encrypt_data(v->channel.s, v->channel.len, v->master_key,
                                        v->plaintext.s, v->plaintext.len, v->nonce, &data));
    CHECK(data && strcmp(data, v->data.s) == 0, "%s: data %s", v->id, data ? data : "(null)");
    pushbus_string_free(data);
    /* A NULL nonce draws a random one: two encryptions differ. */
    char *a = NULL, *b = NULL;
    EXPECT_OK(pushbus_auth_encrypt_data(v->channel.s, v->channel.len, v->master_key,
                                        v->plaintext.s, v->plaintext.len, NULL, &a));
    EXPECT_OK(pushbus_auth_encrypt_data(v->channel.s, v->channel.len, v->master_key,
                                        v->plaintext.s, v->plaintext.len, NULL, &b));
    CHECK(a && b && strcmp(a, b) != 0 && strstr(a, "\"nonce\":\""), "random nonces: %s / %s",
          a ? a : "(null)", b ? b : "(null)");
    pushbus_string_free(a);
    pushbus_string_free(b);
  }
}

static void error_paths(void) {
  char *out = (char *)"untouched";
  char *const sentinel = out;
  const char bad_utf8[] = {'p', 'r', 'i', 'v', 'a', 't', 'e', '-', (char)0xff};

  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`key`",
             pushbus_auth_channel(NULL, 3, S("s"), S("1.1"), S("private-a"), NULL, 0, &out));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`out_auth`",
             pushbus_auth_channel(KS, S("1.1"), S("private-a"), NULL, 0, NULL));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_UTF8, "`channel`",
             pushbus_auth_channel(KS, S("1.1"), bad_utf8, sizeof bad_utf8, NULL, 0, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_SOCKET_ID, "socket_id",
             pushbus_auth_channel(KS, S("1234"), S("private-a"), NULL, 0, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "Invalid channel name",
             pushbus_auth_channel(KS, S("1.1"), S("private-a b"), NULL, 0, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "needs no authorization",
             pushbus_auth_channel(KS, S("1.1"), S("orders"), NULL, 0, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "needs channel_data",
             pushbus_auth_channel(KS, S("1.1"), S("presence-a"), NULL, 0, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "only for presence",
             pushbus_auth_channel(KS, S("1.1"), S("private-a"), S("{}"), &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "must not be empty",
             pushbus_auth_channel(S(""), S("s"), S("1.1"), S("private-a"), NULL, 0, &out));

  EXPECT_ERR(PUSHBUS_RESULT_INVALID_SOCKET_ID, "socket_id",
             pushbus_auth_user(KS, S("a.b"), S("{\"id\":\"1\"}"), &out));
  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`user_data`",
             pushbus_auth_user(KS, S("1.1"), NULL, 0, &out));
  /* What the server would refuse is refused when signing. */
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "non-empty string id",
             pushbus_auth_user(KS, S("1.1"), S("{\"id\":1}"), &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "user_id",
             pushbus_auth_channel(KS, S("1.1"), S("presence-a"), S("{\"user_id\":\"\"}"), &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "user_id",
             pushbus_auth_channel(KS, S("1.1"), S("presence-a"), S("{\"name\":\"no id\"}"), &out));

  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`master_key`",
             pushbus_auth_shared_secret(S("private-encrypted-a"), NULL, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "not a private-encrypted-",
             pushbus_auth_shared_secret(S("private-a"), V_MASTER_KEY, &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_CHANNEL, "not a private-encrypted-",
             pushbus_auth_encrypt_data(S("orders"), V_MASTER_KEY, S("{}"), NULL, &out));

  EXPECT_ERR(PUSHBUS_RESULT_NULL_PARAMETER, "`body`",
             pushbus_webhook_verify(KS, S("k"), S("s"), NULL, 0));

  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "path must start",
             pushbus_rest_sign(KS, S("GET"), S("apps/3"), NULL, 0, (const uint8_t *)"", 0, 1,
                               &out));
  EXPECT_ERR(PUSHBUS_RESULT_INVALID_ARGUMENT, "more than once",
             pushbus_rest_sign(KS, S("GET"), S("/apps/3/channels"), S("info=a&INFO=b"),
                               (const uint8_t *)"", 0, 1, &out));

  CHECK(out == sentinel, "an out-param was written on failure");
}

int main(void) {
  CHECK(pushbus_version()[0] >= '0' && pushbus_version()[0] <= '9', "version %s", pushbus_version());
  channel_vectors();
  user_vectors();
  webhook_vectors();
  rest_vectors();
  encrypted_vectors();
  error_paths();
  return check_summary("test_auth");
}
