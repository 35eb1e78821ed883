#include "actor/bridge.hpp"

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "actor/group.hpp"
#include "actor/unpack.hpp"
#include "bridge/io.hpp"
#include "bridge/monitors.hpp"
#include "bridge/observations.hpp"
#include "bridge/refs.hpp"

namespace actor {

namespace {

using steady = std::chrono::steady_clock;
using detail::steady_time;
using detail::wire_ref;

constexpr std::uint64_t call_id = 1;            // our sender id for calls
constexpr std::uint64_t first_watch_id = 1000;  // watches get their own ids, so changes find them

template <registered_message T>
raw_message packed(const T& msg) {
  return std::move(bridge::pack(type_of<T>(), &msg).value());  // the registry's and manager's messages always encode
}

template <registered_message R>
expected<R> unpacked(const expected<raw_message>& reply) {
  if (!reply) return reply.error();
  R out;
  auto ok = bridge::unpack(*reply, message_traits<R>::name, [&](const msgpack::object& o) { o.convert(out); });
  if (!ok) return ok.error();
  return out;
}

wire_ref wire_of(const actor_ref& r) {
  const auto* w = r ? r.endpoint()->wire_address() : nullptr;
  return w != nullptr ? *w : wire_ref{};
}

std::string ms_text(steady_time from, steady_time deadline) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - from).count()) + " ms";
}

}  // namespace

namespace detail {

// What a name_watch and the bridge share: the changes not read yet, and the view
// of the names used to tell what changed across a re-subscription.
struct watch_state {
  std::string prefix;
  std::uint64_t id = 0;
  std::string registry;  // the address of the registry that answered

  std::mutex mu;
  std::condition_variable cv;
  std::vector<registry_entry> snapshot;
  std::map<std::string, wire_ref> names;
  std::deque<registry_changed> changes;
  std::optional<error> closed;

  void push(registry_changed c) {
    {
      std::lock_guard lk(mu);
      if (closed) return;
      if (c.event == "disappeared") {
        names.erase(c.name);
      } else {
        names[c.name] = wire_of(c.ref);
      }
      changes.push_back(std::move(c));
    }
    cv.notify_all();
  }
  void close(error e) {
    {
      std::lock_guard lk(mu);
      if (!closed) closed = std::move(e);
    }
    cv.notify_all();
  }
  // A fresh snapshot after the registry forgot us: report what changed meanwhile.
  void resync(const std::vector<registry_entry>& entries) {
    std::map<std::string, const registry_entry*> now;
    for (const auto& e : entries) now[e.name] = &e;
    std::vector<registry_changed> diff;
    {
      std::lock_guard lk(mu);
      for (const auto& [name, w] : names) {
        if (now.find(name) == now.end()) diff.push_back({name, {}, "disappeared"});
      }
      for (const auto& [name, e] : now) {
        auto it = names.find(name);
        const auto w = wire_of(e->ref);
        if (it == names.end()) {
          diff.push_back({name, e->ref, "appeared"});
        } else if (it->second.address != w.address || it->second.incarnation != w.incarnation ||
                   it->second.id != w.id) {
          diff.push_back({name, e->ref, "changed"});
        }
      }
    }
    for (auto& c : diff) push(std::move(c));
  }
};

class bridge_core : public std::enable_shared_from_this<bridge_core> {
 public:
  explicit bridge_core(const bridge_options& o)
      : opts_(o),
        io_(bridge_io_options{o.name, o.heartbeat, o.down_after, o.max_message_size, o.linger, 100000, o.busy_poll,
                            o.gateways}) {}

  // after construction, when shared_from_this works
  void start() {
    std::weak_ptr<bridge_core> weak = shared_from_this();
    io_.set_on_heartbeat([weak] {
      if (auto self = weak.lock()) self->renew_watches();
    });
    // monitors_ lives as long as io_, whose thread calls these until shutdown() unsets them
    io_.set_inbox(monitor_sender, [this](raw_message m, std::uint64_t correlation, const wire_ref&) {
      monitors_.on_message(m, correlation);
    });
    io_.set_on_node_event([this](const node_event& ev) {
      monitors_.on_node_event(ev);
      observations_.on_node_event(ev);  // after: the monitors of a node that forgot us went again
    });
  }

  void shutdown() {
    io_.set_on_heartbeat(nullptr);
    observations_.shutdown();  // before the monitors they hold
    monitors_.shutdown();  // demonitors go out within the linger, like other sends
    io_.set_on_node_event(nullptr);
    io_.set_inbox(monitor_sender, nullptr);
    std::vector<std::shared_ptr<watch_state>> all;
    {
      std::lock_guard lk(watch_mu_);
      for (auto& [id, w] : watches_) {
        if (auto s = w.lock()) all.push_back(std::move(s));
      }
      watches_.clear();
    }
    for (auto& s : all) s->close(error{errc::shutting_down, "the bridge is shutting down"});
    io_.shutdown();
  }

  [[nodiscard]] const std::string& id() const noexcept { return io_.routing_id(); }

  // ---- one request, many requests ------------------------------------------------------

  struct waiter {
    std::uint64_t correlation = 0;
    std::future<expected<raw_message>> outcome;
    std::string what;  // the target, for the timeout's text
  };

  waiter start(const wire_ref& to, const raw_message& msg, steady_time deadline, std::uint64_t from = call_id,
               std::function<void(const expected<raw_message>&)> first = {}) {
    auto promise = std::make_shared<std::promise<expected<raw_message>>>();
    waiter w;
    w.outcome = promise->get_future();
    w.what = to.address;
    w.correlation = io_.request(to, from, msg.type, msg.body, deadline,
                                [promise, first = std::move(first)](expected<raw_message> r) {
                                  if (first) first(r);
                                  promise->set_value(std::move(r));
                                });
    return w;
  }

  expected<raw_message> finish(waiter& w, steady_time started, steady_time deadline) {
    if (w.outcome.wait_until(deadline) == std::future_status::timeout && io_.cancel(w.correlation)) {
      return error{errc::timeout, "no answer from " + w.what + " within " + ms_text(started, deadline)};
    }
    return w.outcome.get();
  }

  expected<raw_message> request(const wire_ref& to, const raw_message& msg, steady_time deadline) {
    const auto started = steady::now();
    auto w = start(to, msg, deadline);
    return finish(w, started, deadline);
  }

  // ---- targets --------------------------------------------------------------------------

  expected<wire_ref> resolve(const target& t, steady_time deadline) {
    if (!t.malformed_.empty()) return error{errc::bad_message, t.malformed_};
    if (!t.valid_) {
      return error{errc::no_such_actor, "the empty ref or a local actor's ref cannot be called through a bridge"};
    }
    switch (t.kind_) {
      case target::kind::ref:
        return t.ref_;
      case target::kind::named_at: {
        auto found = unpacked<lookup_reply>(request(wire_ref{{}, t.address_, 0, 0}, packed(lookup_request{t.name_}), deadline));
        if (!found) return found.error();
        return wire_of(found->ref);
      }
      case target::kind::name: {
        auto found = lookup(t.name_, deadline);
        if (!found) return found.error();
        return wire_of(*found);
      }
    }
    return error{errc::no_such_actor, "unknown target"};
  }

  expected<raw_message> call(const target& to, const raw_message& msg, steady_time deadline) {
    auto where = resolve(to, deadline);
    if (!where) return where.error();
    return request(*where, msg, deadline);
  }

  std::vector<expected<raw_message>> multi_call(const std::vector<bridge_call>& calls, steady_time deadline) {
    const auto started = steady::now();
    std::vector<std::optional<waiter>> waiters(calls.size());
    std::vector<expected<raw_message>> out;
    out.reserve(calls.size());
    for (std::size_t i = 0; i < calls.size(); ++i) {
      auto where = resolve(calls[i].to, deadline);
      if (!where) {
        out.emplace_back(where.error());
        continue;
      }
      waiters[i] = start(*where, calls[i].msg, deadline);
      out.emplace_back(error{errc::timeout, "not answered yet"});
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (waiters[i]) out[i] = finish(*waiters[i], started, deadline);
    }
    return out;
  }

  expected<void> send(const target& to, const raw_message& msg, steady_time resolve_deadline) {
    auto where = resolve(to, resolve_deadline);
    if (!where) return where.error();
    return io_.send(*where, 0, msg.type, msg.body);
  }

  expected<monitor_handle> monitor(const target& t, steady_time deadline) {
    auto where = resolve(t, deadline);
    if (!where) return where.error();
    auto m = monitors_.add(*where, make_bridge_ref(*where));
    if (!m) return m.error();
    return monitor_handle(std::move(*m), weak_from_this());
  }

  bridge_monitors& monitors() noexcept { return monitors_; }

  expected<observation_handle> observe(const target& t, observe_options opts, steady_time deadline,
                                       std::function<void(const observed&)> on_event,
                                       std::function<void(const error&)> on_end) {
    auto where = resolve(t, deadline);
    if (!where) return where.error();
    auto st = std::make_shared<observation_state>();
    st->id = next_watch_id_.fetch_add(1);
    if (t.kind_ != target::kind::ref) st->followed = t;  // a name (or a name on a node): followed
    st->types = std::move(opts.types);
    st->queue = opts.queue;
    st->callback = std::move(on_event);
    st->on_end = std::move(on_end);
    auto ok = observations_.start(st, *where, deadline);
    if (!ok) return ok.error();
    return observation_handle(std::move(st), weak_from_this());
  }

  bridge_observations& observations() noexcept { return observations_; }

  // ---- registries -----------------------------------------------------------------------

  // Asks the registries in order, each within its share of the time left, until one
  // answers. Registries are independent replicas, so for a lookup (`next_on_miss`) a
  // no_such_actor from one sends the question on to the next, as nodes do.
  expected<raw_message> ask_registries(const raw_message& msg, steady_time deadline, bool next_on_miss,
                                       std::uint64_t from = call_id,
                                       std::function<void(const expected<raw_message>&)> first = {},
                                       std::string* answered_by = nullptr) {
    const auto& regs = opts_.registries;
    if (regs.empty()) return error{errc::no_such_actor, "no registry is configured to resolve names"};
    std::string failures;
    std::optional<expected<raw_message>> miss;
    errc last = errc::node_down;
    for (std::size_t i = 0; i < regs.size(); ++i) {
      const auto now = steady::now();
      if (now >= deadline) {
        last = errc::timeout;
        break;
      }
      const auto share = (deadline - now) / static_cast<long>(regs.size() - i);
      const auto attempt_deadline = i + 1 == regs.size() ? deadline : now + share;
      auto w = start(wire_ref{{}, regs[i], 0, registry_id}, msg, attempt_deadline, from, first);
      auto r = finish(w, now, attempt_deadline);
      const auto code = r ? errc{} : r.error().code;
      if (r || (code != errc::node_down && code != errc::timeout && !(next_on_miss && code == errc::no_such_actor))) {
        if (answered_by != nullptr) *answered_by = regs[i];
        return r;
      }
      if (code == errc::no_such_actor) {
        miss = std::move(r);
        continue;
      }
      last = code;
      failures += (failures.empty() ? "" : "; ") + r.error().describe();
    }
    if (miss) return std::move(*miss);  // a registry answered: nobody holds the name
    const auto code = last == errc::timeout && steady::now() >= deadline ? errc::timeout : errc::node_down;
    return error{code, "no registry answered: " + failures};
  }

  expected<actor_ref> lookup(const std::string& name, steady_time deadline) {
    auto found = unpacked<registry_found>(ask_registries(packed(registry_lookup{name}), deadline, true));
    if (!found) return found.error();
    if (!found->ref) return error{errc::no_such_actor, "the registry has no actor for '" + name + "'"};
    return found->ref;
  }

  expected<std::vector<registry_entry>> list(const std::string& prefix, steady_time deadline) {
    auto entries = unpacked<registry_entries>(ask_registries(packed(registry_list{prefix}), deadline, false));
    if (!entries) return entries.error();
    return std::move(entries->entries);
  }

  expected<name_watch> watch(const std::string& prefix, steady_time deadline) {
    auto st = std::make_shared<watch_state>();
    st->prefix = prefix;
    st->id = next_watch_id_.fetch_add(1);
    std::weak_ptr<watch_state> weak = st;
    io_.set_inbox(st->id, [weak](raw_message m, std::uint64_t, const wire_ref&) {
      auto s = weak.lock();
      if (!s) return;
      if (auto c = unpacked<registry_changed>(m)) s->push(std::move(*c));
    });
    // the snapshot is taken on the I/O thread, before any change that follows it is read
    auto take_snapshot = [weak](const expected<raw_message>& r) {
      auto s = weak.lock();
      auto entries = unpacked<registry_entries>(r);
      if (!s || !entries) return;
      std::lock_guard lk(s->mu);
      for (const auto& e : entries->entries) s->names[e.name] = wire_of(e.ref);
      s->snapshot = std::move(entries->entries);
    };
    std::string registry;
    auto reply = ask_registries(packed(registry_watch{prefix}), deadline, false, st->id, take_snapshot, &registry);
    auto ok = unpacked<registry_entries>(reply);
    if (!ok) {
      io_.set_inbox(st->id, nullptr);
      return ok.error();
    }
    st->registry = registry;
    {
      std::lock_guard lk(watch_mu_);
      watches_[st->id] = st;
    }
    return name_watch(st, weak_from_this());
  }

  void unwatch(watch_state& st) {
    io_.set_inbox(st.id, nullptr);
    {
      std::lock_guard lk(watch_mu_);
      watches_.erase(st.id);
    }
    auto msg = packed(registry_unwatch{st.prefix});
    (void)io_.send(wire_ref{{}, st.registry, 0, registry_id}, st.id, msg.type, msg.body);
  }

  // On the I/O thread, every heartbeat: renews our leases at each registry we watch
  // at; a registry that went down ends its watches, one that forgot us gets them again.
  void renew_watches() {
    std::set<std::string> registries;
    {
      std::lock_guard lk(watch_mu_);
      for (auto& [id, w] : watches_) {
        if (auto s = w.lock()) registries.insert(s->registry);
      }
    }
    const auto deadline = steady::now() + opts_.down_after;
    for (const auto& address : registries) {
      std::weak_ptr<bridge_core> weak = shared_from_this();
      auto msg = packed(registry_heartbeat{0});
      io_.request(wire_ref{{}, address, 0, registry_id}, call_id, msg.type, msg.body, deadline,
                  [weak, address](expected<raw_message> r) {
                    if (auto self = weak.lock()) self->on_lease(address, r);
                  });
    }
  }

  void on_lease(const std::string& registry, const expected<raw_message>& r) {
    if (!r && r.error().code == errc::timeout) return;  // the next heartbeat tries again
    auto lease = unpacked<registry_lease>(r);
    std::vector<std::shared_ptr<watch_state>> affected;
    {
      std::lock_guard lk(watch_mu_);
      for (auto& [id, w] : watches_) {
        auto s = w.lock();
        if (s && s->registry == registry) affected.push_back(std::move(s));
      }
    }
    if (!lease) {
      if (lease.error().code != errc::node_down && lease.error().code != errc::shutting_down) return;
      for (auto& s : affected) s->close(lease.error());
      return;
    }
    if (lease->known) return;
    for (auto& s : affected) rewatch(s);
  }

  void rewatch(const std::shared_ptr<watch_state>& s) {
    std::weak_ptr<watch_state> weak = s;
    auto msg = packed(registry_watch{s->prefix});
    io_.request(wire_ref{{}, s->registry, 0, registry_id}, s->id, msg.type, msg.body,
                steady::now() + opts_.down_after, [weak](expected<raw_message> r) {
                  auto st = weak.lock();
                  auto entries = unpacked<registry_entries>(r);
                  if (st && entries) st->resync(entries->entries);
                });
  }

 private:
  bridge_options opts_;
  bridge_io io_;
  bridge_monitors monitors_{io_};
  bridge_observations observations_{io_, monitors_};
  std::atomic<std::uint64_t> next_watch_id_{first_watch_id};
  std::mutex watch_mu_;
  std::map<std::uint64_t, std::weak_ptr<watch_state>> watches_;
};

bridge_monitors& monitors_of(bridge_core& core) noexcept { return core.monitors(); }
bridge_observations& observations_of(bridge_core& core) noexcept { return core.observations(); }
expected<wire_ref> resolve_target(bridge_core& core, const target& t, steady_time deadline) {
  return core.resolve(t, deadline);
}

expected<void> ping_node(bridge_core& core, const std::string& address, std::chrono::milliseconds timeout) {
  auto r = core.request(wire_ref{{}, address, 0, 0}, packed(ping_request{}),
                        steady::now() + std::max(timeout, std::chrono::milliseconds(0)));
  if (!r) return r.error();
  return {};
}

}  // namespace detail

// ---- name_watch ----------------------------------------------------------------------------

name_watch::name_watch(std::shared_ptr<detail::watch_state> s, std::weak_ptr<detail::bridge_core> core)
    : state_(std::move(s)), core_(std::move(core)) {}

name_watch::name_watch(name_watch&&) noexcept = default;

name_watch& name_watch::operator=(name_watch&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    core_ = std::move(other.core_);
  }
  return *this;
}

name_watch::~name_watch() { release(); }

void name_watch::release() noexcept {
  if (!state_) return;
  try {
    if (auto core = core_.lock()) core->unwatch(*state_);
    state_->close(error{errc::shutting_down, "the watch ended"});
  } catch (...) {  // allocation failure: the registry drops the watch when its lease lapses
  }
  state_.reset();
}

const std::vector<registry_entry>& name_watch::snapshot() const noexcept { return state_->snapshot; }

expected<registry_changed> name_watch::next(std::chrono::milliseconds timeout) {
  std::unique_lock lk(state_->mu);
  state_->cv.wait_for(lk, timeout, [&] { return !state_->changes.empty() || state_->closed; });
  if (!state_->changes.empty()) {
    auto c = std::move(state_->changes.front());
    state_->changes.pop_front();
    return c;
  }
  if (state_->closed) return *state_->closed;
  return error{errc::timeout, "no change within " + std::to_string(timeout.count()) + " ms"};
}

// ---- bridge ----------------------------------------------------------------------------------

namespace {
steady_time deadline_in(std::chrono::milliseconds timeout) {
  return steady::now() + std::max(timeout, std::chrono::milliseconds(0));
}
}  // namespace

bridge::bridge(bridge_options opts) : core_(std::make_shared<detail::bridge_core>(opts)) { core_->start(); }

bridge::~bridge() { core_->shutdown(); }

const std::string& bridge::id() const noexcept { return core_->id(); }

expected<raw_message> bridge::call(const target& to, const raw_message& msg, std::chrono::milliseconds timeout) {
  auto core = core_;
  return core->call(to, msg, deadline_in(timeout));
}

expected<void> bridge::send(const target& to, const raw_message& msg, std::chrono::milliseconds resolve_timeout) {
  auto core = core_;
  return core->send(to, msg, deadline_in(resolve_timeout));
}

std::vector<expected<raw_message>> bridge::multi_call(const std::vector<bridge_call>& calls,
                                                      std::chrono::milliseconds timeout) {
  auto core = core_;
  return core->multi_call(calls, deadline_in(timeout));
}

std::vector<expected<stopped>> bridge::stop(const std::vector<target>& actors, std::chrono::milliseconds timeout) {
  return multi_call<stopped>(actors, stop_msg{}, timeout);
}

expected<actor_ref> bridge::spawn(const std::string& node_address, const std::string& type, const std::string& name,
                                  const config& cfg, std::chrono::milliseconds timeout) {
  auto r = call<spawn_reply>(target::manager_at(node_address), spawn_request{type, name, cfg}, timeout);
  if (!r) return r.error();
  return r->ref;
}

expected<actor_ref> bridge::lookup(const std::string& name, std::chrono::milliseconds timeout) {
  auto core = core_;
  return core->lookup(name, deadline_in(timeout));
}

expected<std::vector<registry_entry>> bridge::list(const std::string& prefix, std::chrono::milliseconds timeout) {
  auto core = core_;
  return core->list(prefix, deadline_in(timeout));
}

expected<std::vector<actor_ref>> bridge::members(const std::string& group, std::chrono::milliseconds timeout,
                                                 const std::string& node_address) {
  if (auto problem = group_name_problem(group); !problem.empty()) return error{errc::bad_message, problem};
  if (!node_address.empty()) {
    auto r = call<group_members>(target::manager_at(node_address), group_members_request{group}, timeout);
    if (!r) return r.error();
    return std::move(r->members);
  }
  auto entries = list(group_prefix(group), timeout);
  if (!entries) return entries.error();
  std::vector<actor_ref> out;
  out.reserve(entries->size());
  for (auto& e : *entries) out.push_back(std::move(e.ref));
  return out;
}

expected<publish_outcome> bridge::publish(const std::string& group, const raw_message& msg,
                                          std::chrono::milliseconds timeout, const std::string& node_address) {
  auto listed = members(group, timeout, node_address);
  if (!listed) return listed.error();
  publish_outcome out;
  out.members = listed->size();
  for (const auto& m : *listed) {
    if (auto sent = send(m, msg, timeout); sent) {
      ++out.sent;
    } else {
      out.failed.emplace_back(m, sent.error());
    }
  }
  return out;
}

expected<name_watch> bridge::watch(const std::string& prefix, std::chrono::milliseconds timeout) {
  auto core = core_;
  return core->watch(prefix, deadline_in(timeout));
}

expected<monitor_handle> bridge::monitor(const target& to, std::chrono::milliseconds resolve_timeout) {
  auto core = core_;
  return core->monitor(to, deadline_in(resolve_timeout));
}

std::size_t bridge::monitors() const { return core_->monitors().live(); }

expected<observation_handle> bridge::observe(const target& to, observe_options opts, std::chrono::milliseconds timeout,
                                             std::function<void(const observed&)> on_event,
                                             std::function<void(const error&)> on_end) {
  auto core = core_;
  return core->observe(to, std::move(opts), deadline_in(timeout), std::move(on_event), std::move(on_end));
}

std::size_t bridge::observations() const { return core_->observations().live(); }

expected<ping_reply> bridge::ping(const std::string& address, std::chrono::milliseconds timeout) {
  return call<ping_reply>(target::manager_at(address), ping_request{}, timeout);
}

expected<node_stats> bridge::stats(const std::string& address, std::chrono::milliseconds timeout) {
  return call<node_stats>(target::manager_at(address), stats_request{}, timeout);
}

expected<raw_message> bridge::pack(const message_type& type, const void* value) {
  try {
    detail::ref_codec_scope scope(&detail::bridge_codec());
    byte_sink out;
    msgpack::packer<byte_sink> pk(out);
    type.pack(value, pk);
    return raw_message{std::string(type.name), std::move(out.bytes)};
  } catch (const std::exception& ex) {
    return error{errc::bad_message, "cannot encode " + std::string(type.name) + ": " + ex.what()};
  }
}

expected<void> bridge::unpack(const raw_message& m, std::string_view type_name,
                              const std::function<void(const msgpack::object&)>& convert) {
  if (m.type != type_name) {
    return error{errc::bad_message, "expected a reply of type '" + std::string(type_name) + "', got '" + m.type + "'"};
  }
  try {
    msgpack::zone zone;
    auto body = unpack_bounded(m.body, zone);
    if (!body) return error{errc::bad_message, "the body of a '" + m.type + "' reply: " + body.error().text};
    detail::ref_codec_scope scope(&detail::bridge_codec());
    convert(*body);
    return {};
  } catch (const std::exception& ex) {
    return error{errc::bad_message, "the body does not fit type '" + std::string(type_name) + "': " + ex.what()};
  }
}

}  // namespace actor
