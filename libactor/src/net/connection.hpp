#pragma once
// connection: the state machine of one connection to a node, as its owner (the
// transport, for a peer node; bridge_io, for a Bridge client's node) runs it. Pure
// logic: no socket, no thread, no clock (every event takes the time), no lock. The
// owner sends what it is told to, and does the rest (failing requests, logging).
//
// Transitions (each by an event below, or by tick()/check_silence() for silence):
//   opened()                 -> connecting (not welcomed)
//   WELCOME                  -> alive (from any state; a refused one only without refusal_is_final)
//   any frame, when welcomed -> alive (from suspect, down, connecting)
//   silence > suspect_after  -> suspect (from alive; not at all without options.suspect)
//   silence > down_after     -> down (from connecting, alive, suspect); down() -> down
//   REFUSE, connect_failed() -> refused (no probes, no silence; HELLO again with backoff,
//                               from heartbeat_interval doubling up to max_retry, unless
//                               refusal_is_final)
//   HELLO_AGAIN              -> not welcomed, HELLO now (connecting, with down_forgets_welcome)
//
// - Handshake: HELLO on opened(), then again every heartbeat while not welcomed.
// - Heartbeat: once welcomed, a PING every heartbeat (tick() keeps the per-connection
//   timer; an owner with one timer for all its connections calls heartbeat() itself).
// - Liveness: silence (time since anything was heard) over suspect_after makes an
//   alive connection suspect; over down_after makes it down (why: silent, or
//   no_handshake when never welcomed). A refused connection is left alone.
// - Incarnations: WELCOME records the node's; a PONG with another one after the
//   WELCOME means the node restarted: not welcomed any more, HELLO again; the new
//   incarnation is recorded then, so the WELCOME that follows is not a second restart.
//   A HELLO_AGAIN with another incarnation is a restart too.
//
// Where the transport and the Bridge differed, options keep each one's behaviour
// (see connection_options).

#include <chrono>
#include <cstdint>
#include <string_view>

#include "actor/clock.hpp"

namespace actor::detail {

enum class peer_state : std::uint8_t { connecting, alive, suspect, down, refused };
[[nodiscard]] std::string_view to_string(peer_state s) noexcept;

struct connection_options {
  std::chrono::milliseconds heartbeat_interval{500};
  // An alive connection silent for longer than suspect_after is suspect (the transport);
  // false: never suspect, alive until down (the Bridge).
  bool suspect = true;
  std::chrono::milliseconds suspect_after{1000};
  std::chrono::milliseconds down_after{2000};
  // Going down or refused forgets the WELCOME, so only a new WELCOME brings the
  // connection back (HELLO is repeated meanwhile), and a restart seen in a PONG goes
  // back to connecting (the Bridge). False (the transport): a down connection keeps
  // its WELCOME, keeps PINGing, and any frame heard brings it back alive.
  bool down_forgets_welcome = false;
  // A WELCOME after REFUSE is ignored (the Bridge); false: it is taken (the transport).
  bool refusal_is_final = false;
  // A refused connection says HELLO again after heartbeat_interval, then twice as long
  // after each further refusal, up to max_retry (unless refusal_is_final).
  std::chrono::milliseconds max_retry{30000};
};

/// What a probe the owner must send: nothing, HELLO, or PING (with seq()).
enum class probe : std::uint8_t { none, hello, ping };
/// Why a connection went down by itself (the owner words it).
enum class down_reason : std::uint8_t { none, silent, no_handshake };

/// What the owner must do after an event. Plain data; most events fill one or two fields.
struct connection_event {
  probe send = probe::none;       // send this now
  bool became_alive = false;      // state changed to alive, from `was`
  peer_state was = peer_state::connecting;
  bool became_suspect = false;
  down_reason went_down = down_reason::none;  // state changed to down by silence
  // welcome(): the connection was welcomed before this WELCOME (a repeated one)
  bool was_welcomed = false;
  // welcome(): the incarnation known before (0: none) and the new one;
  // pong(): restarted is set, with the incarnation known and the one in the PONG
  bool restarted = false;  // pong(): the node restarted (failing what was in flight is the owner's)
  std::uint64_t old_incarnation = 0;
  std::uint64_t new_incarnation = 0;
  bool ignored = false;  // the event changed nothing (a WELCOME after REFUSE, refusal_is_final)
};

class connection {
 public:
  explicit connection(const connection_options& opts) : opts_(opts) {}

  // ---- events ----
  /// The socket is connected: connecting, not welcomed, timers from now; send HELLO.
  connection_event opened(time_point now);
  /// The socket could not connect: refused (down_since now).
  void connect_failed(time_point now);
  /// No socket could be made: the first time (or when down) connecting again from now,
  /// so that no_socket_for() counts from here.
  void no_socket(time_point now);
  /// The socket was closed by the owner (the connection is kept): the WELCOME is forgotten.
  void socket_closed() noexcept { welcomed_ = false; }
  /// A well-formed frame came: silence ends; a welcomed connection that is not alive becomes alive.
  connection_event heard(time_point now);
  /// WELCOME with the node's incarnation (heard(now) included).
  connection_event welcome(std::uint64_t incarnation, time_point now);
  /// REFUSE: refused (down_since now); HELLO again at retry_at() (twice as long after each
  /// refusal in a row, up to max_retry), unless refusal_is_final.
  void refused(time_point now);
  /// HELLO_AGAIN: the node does not know this connection (it forgot it, or restarted):
  /// not welcomed, send HELLO now; restarted (with the incarnations) when it names another
  /// incarnation than the one known. Nothing when refused.
  connection_event forgotten(std::uint64_t incarnation, time_point now);
  /// PONG with the answerer's incarnation (heard(now) included). A welcomed connection
  /// whose node has another incarnation now: restarted, not welcomed, send HELLO.
  connection_event pong(std::uint64_t incarnation, time_point now);
  /// The owner gives up on the connection: down from now.
  void down(time_point now);
  /// The owner itself did not run for a while: silence counts from now at the latest.
  void grace(time_point now) noexcept {
    if (last_heard_ < now) last_heard_ = now;
  }

  // ---- time ----
  /// A heartbeat is due: PING when welcomed, else HELLO; nothing when refused.
  connection_event heartbeat();
  /// Silence bounds: alive -> suspect after suspect_after, -> down after down_after.
  connection_event check_silence(time_point now);
  /// heartbeat() when heartbeat_interval passed since the last probe, then check_silence(now);
  /// when refused (and refusal not final): HELLO once retry_at() came, the next retry
  /// twice as far.
  connection_event tick(time_point now);
  /// When a refused connection says HELLO again (time_point::max() when never).
  [[nodiscard]] time_point retry_at() const noexcept { return retry_at_; }

  // ---- state ----
  [[nodiscard]] peer_state state() const noexcept { return state_; }
  [[nodiscard]] bool welcomed() const noexcept { return welcomed_; }
  [[nodiscard]] std::uint64_t incarnation() const noexcept { return incarnation_; }
  [[nodiscard]] std::uint64_t seq() const noexcept { return seq_; }  // of the last PING
  [[nodiscard]] time_point last_heard() const noexcept { return last_heard_; }
  [[nodiscard]] time_point opened_at() const noexcept { return opened_; }
  [[nodiscard]] time_point down_since() const noexcept { return down_since_; }
  [[nodiscard]] const connection_options& options() const noexcept { return opts_; }

 private:
  connection_options opts_;
  peer_state state_ = peer_state::connecting;
  bool welcomed_ = false;
  std::uint64_t incarnation_ = 0;  // from the last WELCOME; 0: none yet
  std::uint64_t seq_ = 0;
  time_point opened_{};
  time_point last_heard_{};
  time_point last_probe_{};
  time_point down_since_{};
  std::chrono::milliseconds backoff_{0};  // the wait before the next HELLO when refused; 0: not refused
  time_point retry_at_ = time_point::max();
};

}  // namespace actor::detail
