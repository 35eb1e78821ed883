// A plugin for actor-node --plugin PATH: registers the actor type "plugin_greeter".
#include "actor/actor.hpp"
#include "plugin_types.hpp"

namespace {

class plugin_greeter final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const itest_plugin::greet& g) {
      return itest_plugin::greeting{"hello, " + g.name + ", from the plugin"};
    }};
  }
};

}  // namespace

extern "C" void actor_plugin_register(actor::actor_system& sys) {
  sys.register_actor_type<plugin_greeter>("plugin_greeter");
}
