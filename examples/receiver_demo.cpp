// Receive-style actors (docs/receivers.md): the Concurrence seed's printer written both ways
// (a thread of its own, and a coroutine on the shared pool), then a synchronous call from a
// coroutine receiver on one node to a thread receiver on another, over the network.
// Exits 0 when every line came out as described.

#include <cstdio>
#include <future>
#include <string>

#include <actor/actor.hpp>
#include <actor/node.hpp>

using namespace std::chrono_literals;

struct greeting {
  std::string who;
  ACTOR_FIELDS(who)
};
struct farewell {
  std::string who;
  ACTOR_FIELDS(who)
};
struct add {
  int a = 0;
  int b = 0;
  ACTOR_FIELDS(a, b)
};
struct sum {
  int value = 0;
  ACTOR_FIELDS(value)
};
ACTOR_MESSAGE(greeting, "example.receiver.greeting");
ACTOR_MESSAGE(farewell, "example.receiver.farewell");
ACTOR_MESSAGE(add, "example.receiver.add");
ACTOR_MESSAGE(sum, "example.receiver.sum");

// The seed's printer on a thread of its own: it may block (here: stdio), as thread-per-actor code does.
void printer(actor::receiver& self) {
  for (;;) {
    auto msg = self.receive();
    if (msg.match<greeting>()) {
      std::printf("Hello %s\n", msg.as<greeting>().who.c_str());
    } else if (msg.match<farewell>()) {
      std::printf("Goodbye %s\n", msg.as<farewell>().who.c_str());
      return;  // the actor stops normally
    }
  }
}

// The same printer as a coroutine: it holds no thread while it waits.
actor::receiver_task co_printer(actor::co_receiver& self) {
  for (;;) {
    auto msg = co_await self.receive();
    if (msg.match<greeting>()) {
      std::printf("Hello %s (from a coroutine)\n", msg.as<greeting>().who.c_str());
    } else if (msg.match<farewell>()) {
      std::printf("Goodbye %s (from a coroutine)\n", msg.as<farewell>().who.c_str());
      co_return;
    }
  }
}

// Answers add with its sum: the seed's reply() to a synchronous call.
void adder(actor::receiver& self) {
  for (;;) {
    auto msg = self.receive();
    if (msg.match<add>()) self.reply(msg, sum{msg.as<add>().a + msg.as<add>().b});
  }
}

actor::node_options named(const std::string& name) {
  actor::node_options o;
  o.name = name;
  return o;
}

// Waits until the actor behind ref is gone (a monitor, from a receiver of its own).
bool await_gone(actor::actor_system& sys, const actor::actor_ref& ref) {
  std::promise<void> gone;
  actor::spawn_receiver(sys, [&](actor::receiver& self) {
    self.monitor(ref);
    (void)self.receive(actor::forever, actor::of<actor::down_msg>);
    gone.set_value();
  });
  return gone.get_future().wait_for(5s) == std::future_status::ready;
}

int main() {
  // 1. The printer, both ways, in one process.
  {
    actor::actor_system sys;
    for (auto p : {actor::spawn_receiver(sys, printer), actor::spawn_receiver(sys, co_printer)}) {
      sys.send(p, greeting{"World"});
      sys.send(p, farewell{"World"});
      if (!await_gone(sys, p)) return 1;
    }
  }

  // 2. A call between receivers on two nodes (two systems in this process, talking over TCP on 127.0.0.1).
  actor::actor_system sys_a;
  actor::actor_system sys_b;
  actor::register_receiver_type(sys_b, "example.adder", adder);
  actor::node node_a(sys_a, named("a"));
  actor::node node_b(sys_b, named("b"));
  // node a asks node b's manager to spawn an adder there: the ref it gets is remote
  auto spawned = sys_a.request<actor::spawn_reply>(node_a.manager_at(node_b.address()),
                                                   actor::spawn_request{"example.adder", "adder", {}}, 5s).get();
  if (!spawned) {
    std::printf("spawn failed: %s\n", spawned.error().describe().c_str());
    return 1;
  }
  const actor::actor_ref remote_adder = spawned->ref;
  std::promise<std::string> answer;
  actor::spawn_receiver(sys_a, [&](actor::co_receiver& self) -> actor::receiver_task {
    auto r = co_await self.call(remote_adder, add{2, 3}, 5s);  // waits for this reply only
    answer.set_value(r ? "2 + 3 = " + std::to_string(r->as<sum>().value) : "call failed: " + r.error().describe());
  });
  auto f = answer.get_future();
  if (f.wait_for(10s) != std::future_status::ready) return 1;
  const auto line = f.get();
  std::printf("%s (a coroutine receiver on %s called a thread receiver on %s)\n", line.c_str(),
              node_a.address().c_str(), node_b.address().c_str());
  return line == "2 + 3 = 5" ? 0 : 1;
}
