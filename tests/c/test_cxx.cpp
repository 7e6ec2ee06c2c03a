// The header from C++: it compiles (with extern "C" linkage) and links against the
// library. The header alone is also compiled as C and as C++ by tests/c/run.sh.
#include <cstdio>
#include <cstring>
#include <string>

#include "pushbus.h"

int main() {
  const std::string key = "278d425bdf160c739803", secret = "7ad3773142a6692b25b8";
  const std::string socket_id = "1234.1234", channel = "private-foobar";
  char *auth = nullptr;
  pushbus_result r =
      pushbus_auth_channel(key.data(), key.size(), secret.data(), secret.size(), socket_id.data(),
                           socket_id.size(), channel.data(), channel.size(), nullptr, 0, &auth);
  const bool ok = r == PUSHBUS_RESULT_OK && auth != nullptr &&
                  std::string(auth) ==
                      key + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4";
  pushbus_string_free(auth);
  const bool texts = std::strcmp(pushbus_result_text(PUSHBUS_RESULT_BIND),
                                 "cannot listen on the address") == 0;
  std::printf("test_cxx: %d passed, %d failed\n", ok + texts, !ok + !texts);
  return ok && texts ? 0 : 1;
}
