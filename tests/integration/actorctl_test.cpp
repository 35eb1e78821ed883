// actorctl, the command-line Bridge, run as a process against real nodes: its
// output, its errors and its exit codes.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <cstring>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

extern char** environ;

using namespace itest;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using steady = std::chrono::steady_clock;

namespace {

struct outcome {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  ms took{};
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_path() {
  char name[] = "/tmp/actorctl-test-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd >= 0) ::close(fd);
  return name;
}

// actorctl running, its stdout and stderr going to files; killed and reaped when
// destroyed, unless wait() reaped it.
class actorctl_process {
 public:
  explicit actorctl_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {})
      : out_path_(temp_path()), err_path_(temp_path()) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_TRUNC, 0);
    std::vector<std::string> argv{ACTORCTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "ACTOR_", 6) != 0) envs.emplace_back(*e);  // the test's own must not leak in
    }
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    started_ = steady::now();
    const int rc = ::posix_spawn(&pid_, argv[0].c_str(), &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error(std::string("cannot start actorctl: ") + std::strerror(rc));
  }
  ~actorctl_process() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    ::unlink(out_path_.c_str());
    ::unlink(err_path_.c_str());
  }
  actorctl_process(const actorctl_process&) = delete;
  actorctl_process& operator=(const actorctl_process&) = delete;

  [[nodiscard]] std::string out() const { return slurp(out_path_); }
  [[nodiscard]] std::string err() const { return slurp(err_path_); }
  void signal(int sig) const { ::kill(pid_, sig); }

  /// Waits up to `limit` for the exit; a failed test when it does not come.
  outcome wait(ms limit = 30s) {
    int status = 0;
    reaped_ = poll_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    outcome o;
    o.took = std::chrono::duration_cast<ms>(steady::now() - started_);
    o.out = out();
    o.err = slurp(err_path_);
    INFO("actorctl stdout: " << o.out << "\nstderr: " << o.err);
    REQUIRE(reaped_);
    REQUIRE(WIFEXITED(status));
    o.exit_code = WEXITSTATUS(status);
    return o;
  }

 private:
  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  steady::time_point started_;
};

// Runs actorctl with `args` (and this process's environment minus ACTOR_*, plus
// `env`) and returns what it printed once it exited (within `limit`).
outcome actorctl(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                 ms limit = 30s) {
  actorctl_process p(args, env);
  return p.wait(limit);
}

// A ref's text without its node name: refs that went through a registry name no node.
std::string without_node(const std::string& ref) { return ref.substr(std::min(ref.find('@'), ref.size())); }

std::string chomp(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// actorctl spawn: the ref it prints, or a failed test.
std::string spawn(const std::string& node, const std::string& type, const std::string& name = {}) {
  std::vector<std::string> args{"--node", node, "spawn", type};
  if (!name.empty()) args.push_back(name);
  auto r = actorctl(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return chomp(r.out);
}

}  // namespace

TEST_CASE("actorctl spawn prints a ref that actorctl call accepts", "[integration][actorctl]") {
  node_process proc(fast_node_argv(actor_node_path(), "ctl-node"));
  const auto ref = spawn(proc.address(), "counter", "c1");
  CHECK_THAT(ref, StartsWith("ctl-node@" + proc.address() + "#" + std::to_string(proc.incarnation()) + "/"));

  auto r = actorctl({"call", ref, "actor.counter.incr", R"({"by": 2})"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "{\"value\":2}\n");
  CHECK(r.err.empty());

  SECTION("a name registered on the node is a target with --node and no registry") {
    auto by_name = actorctl({"--node", proc.address(), "call", "c1", "actor.counter.get"});
    CHECK(by_name.exit_code == 0);
    CHECK(by_name.out == "{\"value\":2}\n");
    auto at = actorctl({"call", "c1@" + proc.address(), "actor.counter.get"});
    CHECK(at.out == "{\"value\":2}\n");
    auto looked_up = actorctl({"--node", proc.address(), "lookup", "c1"});
    CHECK(looked_up.exit_code == 0);
    CHECK(chomp(looked_up.out) == ref);
  }
  SECTION("a send is delivered before actorctl exits") {
    auto sent = actorctl({"send", ref, "actor.counter.incr", R"({"by": 5})"});
    CHECK(sent.exit_code == 0);
    auto now = actorctl({"call", ref, "actor.counter.get"});
    CHECK(now.out == "{\"value\":7}\n");
  }
  SECTION("ping and stats print the node's answer as JSON") {
    auto ping = actorctl({"--node", proc.address(), "ping"});
    CHECK(ping.exit_code == 0);
    CHECK_THAT(ping.out, Contains("\"node\":\"ctl-node\"") && Contains(std::to_string(proc.incarnation())));
    auto stats = actorctl({"stats", proc.address()});
    CHECK(stats.exit_code == 0);
    CHECK_THAT(stats.out, Contains("\"node\":\"ctl-node\"") && Contains("\"actors_alive\":") &&
                              Contains("\"clients\":"));
  }
}

TEST_CASE("actorctl call echoes a nested JSON body unchanged", "[integration][actorctl][json]") {
  node_process proc(fast_node_argv(actor_node_path(), "echo-node"));
  const auto echo = spawn(proc.address(), "echo");
  // the echo actor answers any message type its node knows with the same message;
  // actor.node.spawn carries a free-form map (config), so any nested JSON fits in it
  const std::string body =
      R"({"type":"t","name":"n","config":{"a":[1,-2,3.5,{"b":null,"c":[true,false]}],"deep":{"x":{"y":{"z":"\u00e9\"\\"}}},"empty":{},"list":[]}})";
  auto r = actorctl({"call", echo, "actor.node.spawn", body});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == R"({"type":"t","name":"n","config":{"a":[1,-2,3.5,{"b":null,"c":[true,false]}],"deep":{"x":{"y":{"z":"é\"\\"}}},"empty":{},"list":[]}})"
                 "\n");
  // as deep as a node takes a body (the frame and the envelope use 2 of its 32 levels), and one deeper:
  // actorctl refuses that before sending (tools/json.hpp, max_json_depth)
  constexpr std::size_t max_depth = 30;
  const auto nested = [](std::size_t levels) {  // the body, config and levels-2 arrays in it
    return R"({"type":"t","name":"n","config":{"x":)" + std::string(levels - 2, '[') + std::string(levels - 2, ']') +
           "}}";
  };
  auto deepest = actorctl({"call", echo, "actor.node.spawn", nested(max_depth)});
  INFO(deepest.err);
  CHECK(deepest.exit_code == 0);
  CHECK(deepest.out == nested(max_depth) + "\n");
  auto too_deep = actorctl({"call", echo, "actor.node.spawn", nested(max_depth + 1)});
  CHECK(too_deep.exit_code == 2);
  CHECK_THAT(too_deep.err, Contains("nesting deeper"));
}

TEST_CASE("actorctl exit codes say what happened", "[integration][actorctl]") {
  node_process proc(fast_node_argv(test_node_path(), "codes-node"));

  SECTION("0: ok") { CHECK(actorctl({"ping", proc.address()}).exit_code == 0); }
  SECTION("3: timeout, at the deadline") {
    const auto sink = spawn(proc.address(), "sink");
    auto r = actorctl({"--timeout", "300", "call", sink, "itest.hold"});
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Contains("timeout"));
    CHECK(r.out.empty());
  }
  SECTION("4: no_such_actor") {
    const auto stale = "x@" + proc.address() + "#" + std::to_string(proc.incarnation() + 1) + "/16";
    auto r = actorctl({"call", stale, "actor.counter.get"});
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Contains("no_such_actor") && Contains("stale"));
    auto missing = actorctl({"--node", proc.address(), "lookup", "nobody"});
    CHECK(missing.exit_code == 4);
  }
  SECTION("5: node_down") {
    const auto nowhere = "tcp://127.0.0.1:" + std::to_string(unused_port());
    auto r = actorctl({"--down-after-ms", "300", "--heartbeat-ms", "50", "ping", nowhere});
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Contains("node_down"));
  }
  SECTION("5: node_down at once, naming the address, where nothing listens") {
    const auto nowhere = "tcp://127.0.0.1:" + std::to_string(unused_port());
    auto r = actorctl({"--timeout", "8000", "--down-after-ms", "5000", "ping", nowhere});
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Contains(nowhere) && Contains("nothing listens"));
    CHECK(r.took < ms(2000));
  }
  SECTION("5: node_down at once, naming the host, for an address that cannot be resolved") {
    auto r = actorctl({"--timeout", "5000", "ping", "tcp://nosuchhost.invalid:7100"});
    CHECK(r.exit_code == 5);
    CHECK_THAT(r.err, Contains("cannot resolve nosuchhost.invalid"));
    CHECK(r.took < ms(2000));
  }
  SECTION("6: remote_error") {
    const auto crasher = spawn(proc.address(), "crasher");
    auto r = actorctl({"call", crasher, "itest.boom"});
    CHECK(r.exit_code == 6);
    CHECK_THAT(r.err, Contains("boom"));
  }
  SECTION("2: bad usage") {
    CHECK(actorctl({}).exit_code == 2);
    CHECK(actorctl({"frobnicate"}).exit_code == 2);
    CHECK(actorctl({"call", "only-a-target"}).exit_code == 2);
    CHECK(actorctl({"--timeout", "soon", "ping", proc.address()}).exit_code == 2);
    auto bad_target = actorctl({"call", "x@nowhere#1/2", "actor.counter.get"});
    CHECK(bad_target.exit_code == 2);
    CHECK_THAT(bad_target.err, Contains("malformed target"));
  }
  SECTION("2: malformed JSON, with where and why, before anything is sent") {
    const auto echo = spawn(proc.address(), "echo");
    auto r = actorctl({"call", echo, "actor.counter.incr", R"({"by": 2,})"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("malformed JSON at line 1, column 10") && Contains("expected a string key"));
    auto not_object = actorctl({"call", echo, "actor.counter.incr", "42"});
    CHECK(not_object.exit_code == 2);
    CHECK_THAT(not_object.err, Contains("JSON object") && Contains("or array"));
  }
  SECTION("2: a message type the node does not know") {
    const auto echo = spawn(proc.address(), "echo");
    auto r = actorctl({"call", echo, "no.such.type", "{}"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("unknown message type 'no.such.type'"));
  }
}

TEST_CASE("actorctl multicall and stop print one JSON line per target", "[integration][actorctl]") {
  node_process proc(fast_node_argv(test_node_path(), "lines-node"));
  const auto a = spawn(proc.address(), "counter");
  const auto b = spawn(proc.address(), "counter");
  const auto sink = spawn(proc.address(), "sink");

  auto multi = actorctl({"--timeout", "300", "multicall", "actor.counter.incr", R"({"by":4})", a, b});
  CHECK(multi.exit_code == 0);
  CHECK(multi.out == "{\"target\":\"" + a + "\",\"reply\":{\"value\":4}}\n{\"target\":\"" + b +
                         "\",\"reply\":{\"value\":4}}\n");

  const auto stale = "x@" + proc.address() + "#" + std::to_string(proc.incarnation() + 1) + "/16";
  auto partial = actorctl({"--timeout", "300", "multicall", "actor.counter.get", "{}", a, stale, sink});
  CHECK(partial.exit_code == 4);  // the first failure's code
  CHECK_THAT(partial.out, Contains("\"reply\":{\"value\":4}") &&
                              Contains("\"error\":{\"code\":\"no_such_actor\"") &&
                              Contains("\"error\":{\"code\":\"bad_message\""));

  auto stop = actorctl({"stop", a, b, sink});
  CHECK(stop.exit_code == 0);
  CHECK(stop.out == "{\"target\":\"" + a + "\",\"stopped\":true}\n{\"target\":\"" + b +
                        "\",\"stopped\":true}\n{\"target\":\"" + sink + "\",\"stopped\":true}\n");
  auto again = actorctl({"stop", a});
  CHECK((again.exit_code == 4 || again.exit_code == 1));
  CHECK_THAT(again.out, Contains("\"error\""));
}

TEST_CASE("actorctl looks up, lists and calls names through the registry", "[integration][actorctl][registry]") {
  node_process reg(registry_argv("ctl-reg"));
  node_process a(fast_node_argv(actor_node_path(), "a", {"--registry", reg.address(), "--spawn", "counter:hits"}));
  const std::vector<std::string> with_reg{"--registry", "tcp://127.0.0.1:" + std::to_string(unused_port()),
                                          "--registry", reg.address(), "--down-after-ms", "300"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), with_reg.begin(), with_reg.end());
    return args;
  };

  // the node registered its names as it started them
  REQUIRE(poll_until([&] { return actorctl(with({"lookup", "hits"})).exit_code == 0; }, 10s));
  auto ref = actorctl(with({"lookup", "hits"}));
  CHECK_THAT(without_node(ref.out), StartsWith("@" + a.address() + "#" + std::to_string(a.incarnation()) + "/"));

  auto call = actorctl(with({"call", "hits", "actor.counter.incr", R"({"by": 3})"}));
  CHECK(call.exit_code == 0);
  CHECK(call.out == "{\"value\":3}\n");

  auto list = actorctl(with({"list"}));
  CHECK(list.exit_code == 0);
  CHECK(list.out == "[{\"name\":\"hits\",\"ref\":\"" + chomp(ref.out) + "\"}]\n");

  auto missing = actorctl(with({"lookup", "nobody"}));
  CHECK(missing.exit_code == 4);

  // the registry is found through ACTOR_REGISTRY too
  auto env = actorctl({"call", "hits", "actor.counter.get"}, {{"ACTOR_REGISTRY", reg.address()}});
  CHECK(env.out == "{\"value\":3}\n");
}

TEST_CASE("actorctl watch prints the names, then their changes, as JSON lines", "[integration][actorctl][registry]") {
  node_process reg(registry_argv("watch-reg"));
  node_process a(fast_node_argv(actor_node_path(), "a", {"--registry", reg.address(), "--spawn", "counter:w/zero"}));
  REQUIRE(poll_until([&] { return actorctl({"--registry", reg.address(), "lookup", "w/zero"}).exit_code == 0; }, 10s));

  actorctl_process watch({"--registry", reg.address(), "--count", "3", "watch", "w/"});  // appeared, down, disappeared
  // the snapshot is printed once the watch is in place
  REQUIRE(poll_until([&] { return watch.out().find("w/zero") != std::string::npos; }, 10s));
  const auto one = spawn(a.address(), "counter", "w/one");  // refs keep their node's name through the registry
  // watch monitors the actor behind each name it prints: once w/one appeared, its stop is seen
  REQUIRE(poll_until([&] { return watch.out().find("w/one") != std::string::npos; }, 10s));
  REQUIRE(actorctl({"stop", one}).exit_code == 0);
  auto r = watch.wait(10s);
  CHECK(r.exit_code == 0);
  const auto zero = chomp(actorctl({"--registry", reg.address(), "lookup", "w/zero"}).out);
  CHECK_THAT(r.out, StartsWith("{\"event\":\"present\",\"name\":\"w/zero\",\"ref\":\"" + zero + "\"}\n"
                               "{\"event\":\"appeared\",\"name\":\"w/one\",\"ref\":\"" + one + "\"}\n"));
  // the registry's change and the actor's down come by different paths: in either order
  CHECK_THAT(r.out, Contains("{\"event\":\"disappeared\",\"name\":\"w/one\",\"ref\":null}\n"));
  CHECK_THAT(r.out, Contains("{\"event\":\"down\",\"name\":\"w/one\",\"ref\":\"" + one + "\",\"monitor\":") &&
                        Contains(R"("reason":{"what":"stopped","text":"","error_type":""}})"));
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 4);
}

TEST_CASE("actorctl monitor prints the reason an actor is gone as one JSON line", "[integration][actorctl][monitor]") {
  node_process proc(fast_node_argv(test_node_path(), "mon-ctl"));
  const auto counter = spawn(proc.address(), "counter", "m1");

  SECTION("stopped, by a name on the node") {
    actorctl_process m({"--node", proc.address(), "--timeout", "20000", "monitor", "m1"});
    REQUIRE(poll_until([&] { return m.err().find("monitoring") != std::string::npos; }, 10s));
    REQUIRE(actorctl({"stop", counter}).exit_code == 0);
    auto r = m.wait(10s);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, StartsWith(R"({"target":"m1","ref":")" + counter + R"(","monitor":)"));
    CHECK_THAT(r.out, Contains(R"("reason":{"what":"stopped","text":"","error_type":""}})" "\n"));
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
  }
  SECTION("crashed, with the exception's text and type") {
    const auto crasher = spawn(proc.address(), "crasher");
    actorctl_process m({"--timeout", "20000", "monitor", crasher});
    REQUIRE(poll_until([&] { return m.err().find("monitoring") != std::string::npos; }, 10s));
    CHECK(actorctl({"call", crasher, "itest.boom"}).exit_code == 6);
    auto r = m.wait(10s);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains(R"("reason":{"what":"crashed","text":")") &&
                          Contains(R"(boom","error_type":"std::runtime_error"}})"));
  }
  SECTION("still there at --timeout: exit 3") {
    auto r = actorctl({"--timeout", "300", "monitor", counter});
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Contains("timeout"));
  }
  SECTION("a name nobody holds: exit 4 at once") {
    auto r = actorctl({"--timeout", "20000", "monitor", "nobody@" + proc.address()});
    CHECK(r.exit_code == 4);
    CHECK(r.took < 5s);
  }
  SECTION("node_down when its node is killed") {
    actorctl_process m({"--timeout", "20000", "--heartbeat-ms", "100", "--down-after-ms", "600", "monitor", counter});
    REQUIRE(poll_until([&] { return m.err().find("monitoring") != std::string::npos; }, 10s));
    proc.kill_and_reap();
    auto r = m.wait(10s);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains(R"("reason":{"what":"node_down",)"));
    CHECK(r.took < 10s);
  }
  SECTION("frozen past the node's down bound, actorctl still hears the down when it resumes") {
    actorctl_process m({"--timeout", "60000", "monitor", counter});
    REQUIRE(poll_until([&] { return m.err().find("monitoring") != std::string::npos; }, 10s));
    m.signal(SIGSTOP);
    // the node forgets a client silent past its down bound (fast: 600 ms); wait for it
    local_node me;
    auto clients = [&] {
      auto s = me.stats_at(proc.address());
      return s ? static_cast<long long>(s->clients) : -1LL;
    };
    const bool forgotten = poll_until([&] { return clients() == 0; }, ms(20000 * slowdown));
    m.signal(SIGCONT);
    REQUIRE(forgotten);
    // welcomed again, it sends its monitor again (the actor keeps one entry); then the stop
    REQUIRE(poll_until([&] { return clients() == 1; }, 10s));
    REQUIRE(actorctl({"stop", counter}).exit_code == 0);
    auto r = m.wait(10s);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains(R"("reason":{"what":"stopped",)"));
  }
}

TEST_CASE("actorctl drives a receive-style printer with positional arguments", "[integration][actorctl][receiver]") {
  for (const std::string kind : {"printer", "thread_printer"}) {
    INFO(kind);
    node_process proc(fast_node_argv(actor_node_path(), "printer-node", {"--spawn", kind + ":p1"}));
    auto hello = actorctl({"--node", proc.address(), "call", "p1", "printer.greeting", R"(["World"])"});
    CHECK(hello.exit_code == 0);
    CHECK(hello.out == "{\"line\":\"Hello World\"}\n");
    auto bye = actorctl({"--node", proc.address(), "send", "p1", "printer.farewell", R"(["World"])"});
    CHECK(bye.exit_code == 0);
    auto lines = actorctl({"--node", proc.address(), "call", "p1", "printer.lines", "[]"});
    CHECK(lines.out == "{\"lines\":[\"Hello World\",\"Goodbye World\"]}\n");
    CHECK(proc.wait_for_line("Goodbye World", 5s).has_value());  // printed on the node's stdout
    auto wrong = actorctl({"--node", proc.address(), "call", "p1", "printer.greeting", "[1]"});
    CHECK(wrong.exit_code == 2);
    CHECK_THAT(wrong.err, Contains("bad_message") && Contains(R"(["name"])"));
  }
}

TEST_CASE("actorctl observe prints a counter's notifications as JSON lines", "[integration][actorctl][observe]") {
  node_process proc(fast_node_argv(actor_node_path(), "obs-ctl"));
  const auto counter = spawn(proc.address(), "counter", "o1");

  SECTION("--count notifications, then exit 0") {
    actorctl_process o({"--node", proc.address(), "--count", "3", "observe", "o1"});
    REQUIRE(poll_until([&] { return o.err().find("observing") != std::string::npos; }, 10s));
    CHECK_THAT(o.err(), Contains("outputs: actor.counter.value"));
    for (int i = 0; i < 3; ++i) REQUIRE(actorctl({"send", counter, "actor.counter.incr", R"({"by": 2})"}).exit_code == 0);
    auto r = o.wait(10s);
    CHECK(r.exit_code == 0);
    CHECK(r.out == R"({"event":"notification","seq":1,"from":")" + counter +
                       R"(","type":"actor.counter.value","body":{"value":2}})" "\n"
                       R"({"event":"notification","seq":2,"from":")" + counter +
                       R"(","type":"actor.counter.value","body":{"value":4}})" "\n"
                       R"({"event":"notification","seq":3,"from":")" + counter +
                       R"(","type":"actor.counter.value","body":{"value":6}})" "\n");
  }
  SECTION("--for seconds with nothing to print: exit 0, no lines") {
    auto r = actorctl({"--for", "0.3", "observe", counter});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
  }
  SECTION("a type that is not an output: exit 2, the type named") {
    auto r = actorctl({"observe", counter, "actor.counter.nothing"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("no output 'actor.counter.nothing'"));
  }
  SECTION("the actor stops: exit 1, the reason said") {
    actorctl_process o({"observe", counter});
    REQUIRE(poll_until([&] { return o.err().find("observing") != std::string::npos; }, 10s));
    REQUIRE(actorctl({"stop", counter}).exit_code == 0);
    auto r = o.wait(10s);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("the observed actor is gone: stopped"));
  }
}

TEST_CASE("actorctl spawns group members, lists them and publishes to each once", "[integration][actorctl][group]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}));
  node_process b(registered_node_argv("b", {reg.address()}));
  const std::vector<std::string> at_reg{"--registry", reg.address()};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), at_reg.begin(), at_reg.end());
    return actorctl(args);
  };
  // members from the spawn config; a config with a bad "groups" is refused naming the key
  for (const auto& [node, name] : {std::pair{a.address(), "t1"}, std::pair{a.address(), "t2"}, std::pair{b.address(), "t3"}}) {
    auto r = actorctl({"--node", node, "spawn", "counter", name, R"({"groups": ["tally"]})"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  auto bad = actorctl({"--node", a.address(), "spawn", "counter", "t4", R"({"groups": "tally"})"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("'groups'"));

  auto members = with({"members", "tally"});
  REQUIRE(members.exit_code == 0);
  CHECK(std::count(members.out.begin(), members.out.end(), '#') == 3);  // three refs

  auto pub = with({"publish", "tally", "actor.counter.incr", R"({"by": 4})"});
  REQUIRE(pub.exit_code == 0);
  CHECK(pub.out == "{\"group\":\"tally\",\"members\":3,\"sent\":3,\"failed\":[]}\n");
  for (const auto& name : {"t1", "t2", "t3"}) {
    auto v = with({"call", name, "actor.counter.get"});
    CHECK(v.out == "{\"value\":4}\n");
  }
  // without a registry: --node's own view
  auto local = actorctl({"--node", a.address(), "members", "tally"});
  REQUIRE(local.exit_code == 0);
  CHECK(std::count(local.out.begin(), local.out.end(), '#') == 3);
  // usage errors: exit 2 with what is wrong
  auto slash = with({"publish", "a/b", "actor.counter.incr"});
  CHECK(slash.exit_code == 2);
  CHECK_THAT(slash.err, Contains("'/'"));
  CHECK(actorctl({"publish", "tally", "actor.counter.incr"}).exit_code == 2);  // neither --registry nor --node
}

TEST_CASE("actorctl starts a task sequence and asks a task's state", "[integration][actorctl][task]") {
  node_process a(fast_node_argv(actor_node_path(), "a"));
  auto started = actorctl({"--node", a.address(), "start-tasks", R"(pulse:t1={"interval_ms": 1000})", R"(pulse:t2={"start": "paused"})"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  CHECK(std::count(started.out.begin(), started.out.end(), '#') == 2);  // two refs
  auto s1 = actorctl({"--node", a.address(), "state", "t1"});
  CHECK(s1.exit_code == 0);
  CHECK(s1.out == "{\"state\":\"beating\",\"phase\":\"running\",\"states\":[\"beating\",\"paused\"]}\n");
  auto s2 = actorctl({"--node", a.address(), "state", "t2"});
  CHECK(s2.out == "{\"state\":\"paused\",\"phase\":\"running\",\"states\":[\"paused\",\"beating\"]}\n");

  // a refused task: nothing stays, the error names the task, the step and the key (exit 2: bad_message)
  auto refused = actorctl({"--node", a.address(), "start-tasks", "pulse:t3", R"(pulse:t4={"start": "never"})"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Contains("task 2 of 2 (pulse 't4'): spawn") && Contains("'start'"));
  CHECK(actorctl({"--node", a.address(), "lookup", "t3"}).exit_code == 4);
  CHECK(actorctl({"--node", a.address(), "start-tasks", "pulse:"}).exit_code == 2);  // malformed spec
}
