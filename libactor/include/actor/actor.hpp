#pragma once
/// The whole public API of libactor's runtime.

#include "actor/actor_base.hpp"
#include "actor/actor_ref.hpp"
#include "actor/behavior.hpp"
#include "actor/clock.hpp"
#include "actor/config.hpp"
#include "actor/dynamic_message.hpp"
#include "actor/error.hpp"
#include "actor/expected.hpp"
#include "actor/message.hpp"
#include "actor/monitor.hpp"
#include "actor/receiver.hpp"
#include "actor/system.hpp"
#include "actor/unpack.hpp"
