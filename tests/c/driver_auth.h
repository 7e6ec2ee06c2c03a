/*
 * What the C tests that drive pusher-js (driver.mjs) share: the app credentials of the
 * Pusher docs (as in spec/vectors.json), and the signer the driver asks for each
 * private or presence subscription ("auth SOCKET CHANNEL [CHANNEL_DATA]").
 * Include after check.h and harness.h.
 */
#ifndef PUSHBUS_TEST_DRIVER_AUTH_H
#define PUSHBUS_TEST_DRIVER_AUTH_H

#define KEY "278d425bdf160c739803"
#define SECRET "7ad3773142a6692b25b8"

/* An auth_handler: signs with KEY and SECRET and answers "auth SIGNATURE". */
static void sign(child *c, const char *line, void *user_data) {
  (void)user_data;
  char socket_id[64] = "", channel[256] = "";
  int consumed = 0;
  if (sscanf(line, "auth %63s %255s%n", socket_id, channel, &consumed) < 2) return;
  const char *data = line[consumed] == ' ' ? line + consumed + 1 : NULL;
  char *auth = NULL;
  EXPECT_OK(pushbus_auth_channel(S(KEY), S(SECRET), Z(socket_id), Z(channel), data,
                                 data ? strlen(data) : 0, &auth));
  char reply[512];
  snprintf(reply, sizeof reply, "auth %s", auth ? auth : "invalid");
  child_send(c, reply);
  pushbus_string_free(auth);
}

#endif
