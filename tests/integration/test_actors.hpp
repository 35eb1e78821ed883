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

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

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

/// Registers the types above under the names used by the tests.
inline void register_test_types(actor::actor_system& s) {
  s.register_actor_type<order_checker>("order_checker");
  s.register_actor_type<burst_actor>("burst");
  s.register_actor_type<forwarder>("forwarder");
  s.register_actor_type<sink>("sink");
  s.register_actor_type<crasher>("crasher");
}

}  // namespace itest
