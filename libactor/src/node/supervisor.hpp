#pragma once
// The "supervisor" actor type (actor/supervisor.hpp has the contract), registered by
// actor::node on its system: children on this node are spawned with the system (unnamed)
// or through this node's manager (named: the manager claims the name); children on other
// nodes through their node's manager, reached with the router.

#include <memory>

#include "actor/actor_base.hpp"
#include "actor/config.hpp"

namespace actor::detail {

class router;

/// A new supervisor for `cfg` (supervisor_spec::from_config); throws std::invalid_argument
/// with the spec's error when the config is not a valid spec.
actor_base* make_supervisor(std::weak_ptr<router> net, const config& cfg);

}  // namespace actor::detail
