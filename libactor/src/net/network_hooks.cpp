// The net layer's side of core/network_hooks.hpp: installed when libactor loads.

#include "core/network_hooks.hpp"

#include "net/outbox.hpp"
#include "wire/encoded_envelope.hpp"

namespace actor::detail {

namespace {

void each_in_run(envelope* run, bool (*handle)(void* ctx, envelope* e) noexcept, void* ctx) noexcept {
  for_each_in_run(run, [handle, ctx](envelope* e) { return handle(ctx, e); });
}

constexpr network_hooks the_hooks{&hand_over_outbox, &decode_body, &each_in_run};

[[maybe_unused]] const bool installed = (install_network_hooks(&the_hooks), true);

}  // namespace

}  // namespace actor::detail
