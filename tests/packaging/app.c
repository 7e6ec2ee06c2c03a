/* A program as a user of the installed libpushbus writes it: built with
 * `cc app.c $(pkg-config --cflags --libs pushbus)`, it starts an embedded server, signs a
 * trigger through a client over HTTP, lists the channels, and prints pushbus_version().
 * Exits non-zero on any failure. */
#include <pushbus.h>
#include <stdio.h>
#include <string.h>

#define S(lit) (lit), (sizeof(lit) - 1)

static int fail(const char *what, pushbus_result r) {
  fprintf(stderr, "%s: %s: %s\n", what, pushbus_result_text(r), pushbus_last_error_message());
  return 1;
}

int main(void) {
  const char *config =
      "{\"host\":\"127.0.0.1\",\"port\":0,"
      "\"apps\":[{\"id\":\"portal\",\"key\":\"portal-key\",\"secret\":\"portal-secret\"}]}";
  pushbus_server *server = NULL;
  pushbus_client *client = NULL;
  uint16_t port = 0;
  char *json = NULL;
  pushbus_result r;

  if ((r = pushbus_server_new(config, strlen(config), &server)) != PUSHBUS_RESULT_OK)
    return fail("pushbus_server_new", r);
  if ((r = pushbus_server_start(server, NULL, 0, &port)) != PUSHBUS_RESULT_OK)
    return fail("pushbus_server_start", r);
  if ((r = pushbus_client_new(S("127.0.0.1"), port, false, S("portal"), S("portal-key"),
                              S("portal-secret"), 5000, NULL, &client)) != PUSHBUS_RESULT_OK)
    return fail("pushbus_client_new", r);

  pushbus_str channel = {S("orders")};
  if ((r = pushbus_client_trigger(client, &channel, 1, S("OrderShipped"), S("{\"id\":1}"), NULL,
                                  0)) != PUSHBUS_RESULT_OK)
    return fail("pushbus_client_trigger", r);
  if ((r = pushbus_client_channels(client, NULL, 0, NULL, 0, &json)) != PUSHBUS_RESULT_OK)
    return fail("pushbus_client_channels", r);
  if (strstr(json, "\"channels\"") == NULL) {
    fprintf(stderr, "unexpected channels answer: %s\n", json);
    return 1;
  }
  pushbus_string_free(json);

  /* A wrong secret must be refused by the server: the signature is really checked. */
  pushbus_client *forged = NULL;
  if ((r = pushbus_client_new(S("127.0.0.1"), port, false, S("portal"), S("portal-key"),
                              S("not-the-secret"), 5000, NULL, &forged)) != PUSHBUS_RESULT_OK)
    return fail("pushbus_client_new (forged)", r);
  r = pushbus_client_trigger(forged, &channel, 1, S("Forged"), S("{}"), NULL, 0);
  if (r != PUSHBUS_RESULT_HTTP_STATUS) {
    fprintf(stderr, "a trigger signed with a wrong secret gave %s, not HTTP_STATUS\n",
            pushbus_result_text(r));
    return 1;
  }
  pushbus_client_free(forged);

  pushbus_client_free(client);
  pushbus_server_free(server);
  printf("%s\n", pushbus_version());
  return 0;
}
