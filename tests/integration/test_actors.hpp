#pragma once
// Actor types and messages shared by the integration tests and actor-test-node
// (which hosts them by name). Header-only so both binaries register the same
// message names.
//
//   order_checker  seq_msg{seq} (send): records it; seq_check -> seq_report (complete and in order?)
//   burst          burst{target, count} -> sends seq_msg 0..count-1 to target, then asks it seq_check
//                  (same sender, so the check arrives after the last seq) and answers with its report
//   forwarder      relay_note{target, text} -> sends note{text} to target (sender: the forwarder), answers relayed
//                  relay_incr{counter, by} -> requests counter_incr{by} of counter, answers with its counter_value
//                  relay_ping{target, timeout_ms} -> requests ping_request of target (a node manager), answers
//                  with its ping_reply or error
//   sink           hold -> never answers (requests to it stay pending until their deadline)
//   crasher        boom -> throws std::runtime_error("boom")
//   watcher        monitors and links (actor/monitor.hpp): watch_target{target, count} -> watch_ids (count
//                  monitors of target); unwatch{ids} -> relayed (demonitors them); watch_cycles{target, count}
//                  -> relayed (count times monitor then demonitor); link_to{target, unlink} -> relayed;
//                  trap_exits{on} -> relayed; watch_report_request -> watch_report (every down_msg and exit_msg
//                  handled so far, and when the last down came, on the steady clock)

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "actor/actor.hpp"
#include "actor/builtins.hpp"
#include "actor/node.hpp"

namespace itest {

struct seq_msg {
  std::uint64_t seq = 0;
  MSGPACK_DEFINE_MAP(seq)
};
struct seq_check {
  ACTOR_NO_FIELDS
};
struct seq_report {
  std::uint64_t received = 0;
  bool in_order = true;
  std::uint64_t first_out_of_order = 0;  ///< the first seq that was not the expected one
  MSGPACK_DEFINE_MAP(received, in_order, first_out_of_order)
};
struct burst {
  actor::actor_ref target;
  std::uint64_t count = 0;
  MSGPACK_DEFINE_MAP(target, count)
};
struct note {
  std::string text;
  MSGPACK_DEFINE_MAP(text)
};
struct relay_note {
  actor::actor_ref target;
  std::string text;
  MSGPACK_DEFINE_MAP(target, text)
};
struct relayed {
  ACTOR_NO_FIELDS
};
struct relay_incr {
  actor::actor_ref counter;
  std::int64_t by = 1;
  MSGPACK_DEFINE_MAP(counter, by)
};
struct relay_ping {
  actor::actor_ref target;
  std::uint32_t timeout_ms = 1000;
  MSGPACK_DEFINE_MAP(target, timeout_ms)
};
struct hold {
  ACTOR_NO_FIELDS
};
struct boom {
  ACTOR_NO_FIELDS
};
struct watch_target {
  actor::actor_ref target;
  std::uint32_t count = 1;
  MSGPACK_DEFINE_MAP(target, count)
};
struct watch_ids {
  std::vector<std::uint64_t> ids;
  MSGPACK_DEFINE_MAP(ids)
};
struct unwatch {
  std::vector<std::uint64_t> ids;
  MSGPACK_DEFINE_MAP(ids)
};
struct watch_cycles {
  actor::actor_ref target;
  std::uint32_t count = 0;
  MSGPACK_DEFINE_MAP(target, count)
};
struct link_to {
  actor::actor_ref target;
  bool unlink = false;
  MSGPACK_DEFINE_MAP(target, unlink)
};
struct trap_exits {
  bool on = true;
  MSGPACK_DEFINE_MAP(on)
};
struct watch_report_request {
  ACTOR_NO_FIELDS
};
struct watch_report {
  std::vector<actor::down_msg> downs;
  std::vector<actor::exit_msg> exits;
  std::int64_t last_down_ns = 0;  ///< steady_clock, since its epoch (the same in every process of a host)
  MSGPACK_DEFINE_MAP(downs, exits, last_down_ns)
};

}  // namespace itest

ACTOR_MESSAGE(itest::seq_msg, "itest.seq");
ACTOR_MESSAGE(itest::seq_check, "itest.seq_check");
ACTOR_MESSAGE(itest::seq_report, "itest.seq_report");
ACTOR_MESSAGE(itest::burst, "itest.burst");
ACTOR_MESSAGE(itest::note, "itest.note");
ACTOR_MESSAGE(itest::relay_note, "itest.relay_note");
ACTOR_MESSAGE(itest::relayed, "itest.relayed");
ACTOR_MESSAGE(itest::relay_incr, "itest.relay_incr");
ACTOR_MESSAGE(itest::relay_ping, "itest.relay_ping");
ACTOR_MESSAGE(itest::hold, "itest.hold");
ACTOR_MESSAGE(itest::boom, "itest.boom");
ACTOR_MESSAGE(itest::watch_target, "itest.watch_target");
ACTOR_MESSAGE(itest::watch_ids, "itest.watch_ids");
ACTOR_MESSAGE(itest::unwatch, "itest.unwatch");
ACTOR_MESSAGE(itest::watch_cycles, "itest.watch_cycles");
ACTOR_MESSAGE(itest::link_to, "itest.link_to");
ACTOR_MESSAGE(itest::trap_exits, "itest.trap_exits");
ACTOR_MESSAGE(itest::watch_report_request, "itest.watch_report_request");
ACTOR_MESSAGE(itest::watch_report, "itest.watch_report");

namespace itest {

class order_checker final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const seq_msg& m) {
          if (m.seq != next_ && in_order_) {
            in_order_ = false;
            first_bad_ = m.seq;
          }
          next_ = m.seq + 1;
          ++received_;
        },
        [this](const seq_check&) { return seq_report{received_, in_order_, first_bad_}; },
    };
  }

 private:
  std::uint64_t next_ = 0;
  std::uint64_t received_ = 0;
  bool in_order_ = true;
  std::uint64_t first_bad_ = 0;
};

class burst_actor final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const burst& b) {
          for (std::uint64_t i = 0; i < b.count; ++i) send(b.target, seq_msg{i});
          auto rp = make_response_promise();
          request(b.target, seq_check{}, std::chrono::seconds(30))
              .then([rp](const seq_report& r) mutable { rp.deliver(seq_report(r)); },
                    [rp](const actor::error& e) mutable { rp.deliver(actor::error(e)); });
        },
    };
  }
};

class forwarder final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const relay_note& m) {
          send(m.target, note{m.text});
          return relayed{};
        },
        [this](const relay_incr& m) {
          auto rp = make_response_promise();
          request(m.counter, actor::counter_incr{m.by}, std::chrono::seconds(10))
              .then([rp](const actor::counter_value& v) mutable { rp.deliver(actor::counter_value(v)); },
                    [rp](const actor::error& e) mutable { rp.deliver(actor::error(e)); });
        },
        [this](const relay_ping& m) {
          auto rp = make_response_promise();
          request(m.target, actor::ping_request{}, std::chrono::milliseconds(m.timeout_ms))
              .then([rp](const actor::ping_reply& v) mutable { rp.deliver(actor::ping_reply(v)); },
                    [rp](const actor::error& e) mutable { rp.deliver(actor::error(e)); });
        },
    };
  }
};

class sink final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const hold&) {}};
  }
};

class crasher final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const boom&) -> relayed { throw std::runtime_error("boom"); }};
  }
};

class watcher final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const watch_target& w) {
          watch_ids out;
          // no target: the sender of this request (a Bridge client, say)
          const auto& target = w.target ? w.target : sender();
          for (std::uint32_t i = 0; i < w.count; ++i) out.ids.push_back(monitor(target));
          return out;
        },
        [this](const unwatch& u) {
          for (auto id : u.ids) demonitor(id);
          return relayed{};
        },
        [this](const watch_cycles& c) {
          for (std::uint32_t i = 0; i < c.count; ++i) demonitor(monitor(c.target));
          return relayed{};
        },
        [this](const link_to& l) {
          if (l.unlink) {
            unlink(l.target);
          } else {
            link(l.target);
          }
          return relayed{};
        },
        [this](const trap_exits& t) {
          trap_exit(t.on);
          return relayed{};
        },
        [this](const watch_report_request&) { return report_; },
        [this](const actor::down_msg& d) {
          report_.downs.push_back(d);
          report_.last_down_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count();
        },
        [this](const actor::exit_msg& e) { report_.exits.push_back(e); },
    };
  }

 private:
  watch_report report_;
};

/// Registers the types above under the names used by the tests.
inline void register_test_types(actor::actor_system& s) {
  s.register_actor_type<order_checker>("order_checker");
  s.register_actor_type<burst_actor>("burst");
  s.register_actor_type<forwarder>("forwarder");
  s.register_actor_type<sink>("sink");
  s.register_actor_type<crasher>("crasher");
  s.register_actor_type<watcher>("watcher");
}

}  // namespace itest
