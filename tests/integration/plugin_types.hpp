#pragma once
// The messages of the test plugin's actor type "plugin_greeter":
//   greet{name} -> greeting{text = "hello, <name>, from the plugin"}

#include <string>

#include "actor/message.hpp"

namespace itest_plugin {

struct greet {
  std::string name;
  MSGPACK_DEFINE_MAP(name)
};
struct greeting {
  std::string text;
  MSGPACK_DEFINE_MAP(text)
};

}  // namespace itest_plugin

ACTOR_MESSAGE(itest_plugin::greet, "itest.plugin.greet");
ACTOR_MESSAGE(itest_plugin::greeting, "itest.plugin.greeting");
