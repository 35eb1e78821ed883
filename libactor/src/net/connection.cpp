#include "net/connection.hpp"

#include <algorithm>

namespace actor::detail {

std::string_view to_string(peer_state s) noexcept {
  switch (s) {
    case peer_state::connecting: return "connecting";
    case peer_state::alive: return "alive";
    case peer_state::suspect: return "suspect";
    case peer_state::down: return "down";
    case peer_state::refused: return "refused";
  }
  return "unknown";
}

connection_event connection::opened(time_point now) {
  state_ = peer_state::connecting;
  welcomed_ = false;
  opened_ = last_heard_ = last_probe_ = now;
  connection_event ev;
  ev.send = probe::hello;
  return ev;
}

void connection::connect_failed(time_point now) { refused(now); }

void connection::no_socket(time_point now) {
  if (opened_ == time_point{} || state_ == peer_state::down) {
    state_ = peer_state::connecting;
    opened_ = last_heard_ = now;
  }
}

connection_event connection::heard(time_point now) {
  connection_event ev;
  last_heard_ = now;
  if (welcomed_ && state_ != peer_state::alive) {
    ev.became_alive = true;
    ev.was = state_;
    state_ = peer_state::alive;
  }
  return ev;
}

connection_event connection::welcome(std::uint64_t incarnation, time_point now) {
  if (opts_.refusal_is_final && state_ == peer_state::refused) {
    connection_event ev;
    ev.ignored = true;
    return ev;
  }
  const bool was = welcomed_;
  const std::uint64_t old = incarnation_;
  incarnation_ = incarnation;
  welcomed_ = true;
  backoff_ = std::chrono::milliseconds(0);
  retry_at_ = time_point::max();
  connection_event ev = heard(now);
  ev.was_welcomed = was;
  ev.old_incarnation = old;
  ev.new_incarnation = incarnation;
  return ev;
}

void connection::refused(time_point now) {
  // the first refusal since the last WELCOME waits one heartbeat; each retry (tick) doubles it
  if (backoff_.count() == 0) backoff_ = std::min(opts_.heartbeat_interval, opts_.max_retry);
  if (state_ != peer_state::refused) down_since_ = now;
  state_ = peer_state::refused;
  retry_at_ = opts_.refusal_is_final ? time_point::max() : now + backoff_;
  if (opts_.down_forgets_welcome) welcomed_ = false;
}

connection_event connection::forgotten(std::uint64_t incarnation, time_point now) {
  connection_event ev;
  if (state_ == peer_state::refused) return ev;
  const bool restarted = incarnation_ != 0 && incarnation != incarnation_;
  const std::uint64_t old = incarnation_;
  welcomed_ = false;
  last_probe_ = now;
  if (opts_.down_forgets_welcome) state_ = peer_state::connecting;
  ev = heard(now);
  if (restarted) {
    incarnation_ = incarnation;
    ev.restarted = true;
    ev.old_incarnation = old;
    ev.new_incarnation = incarnation;
  }
  ev.send = probe::hello;
  return ev;
}

connection_event connection::pong(std::uint64_t incarnation, time_point now) {
  const bool restarted = welcomed_ && incarnation != incarnation_;
  if (restarted) {
    welcomed_ = false;
    last_probe_ = now;
    if (opts_.down_forgets_welcome) state_ = peer_state::connecting;
  }
  connection_event ev = heard(now);
  if (restarted) {
    ev.restarted = true;
    ev.old_incarnation = incarnation_;
    ev.new_incarnation = incarnation;
    ev.send = probe::hello;
    incarnation_ = incarnation;  // the WELCOME that follows is this run's, not another restart
  }
  return ev;
}

void connection::down(time_point now) {
  state_ = peer_state::down;
  down_since_ = now;
  if (opts_.down_forgets_welcome) welcomed_ = false;
}

connection_event connection::heartbeat() {
  connection_event ev;
  if (state_ == peer_state::refused) return ev;
  if (welcomed_) {
    ++seq_;
    ev.send = probe::ping;
  } else {
    ev.send = probe::hello;
  }
  return ev;
}

connection_event connection::check_silence(time_point now) {
  connection_event ev;
  if (state_ == peer_state::refused || state_ == peer_state::down) return ev;
  const auto silence = now - last_heard_;
  if (state_ == peer_state::alive && opts_.suspect && silence > opts_.suspect_after) {
    state_ = peer_state::suspect;
    ev.became_suspect = true;
  }
  if (silence > opts_.down_after) {
    ev.went_down = welcomed_ ? down_reason::silent : down_reason::no_handshake;
    down(now);
  }
  return ev;
}

connection_event connection::tick(time_point now) {
  connection_event ev;
  if (state_ == peer_state::refused) {
    if (now >= retry_at_) {
      // as after a rolling upgrade with version skew: ask again, less often each time
      backoff_ = std::min(backoff_ * 2, opts_.max_retry);
      retry_at_ = now + backoff_;
      last_probe_ = now;
      ev.send = probe::hello;
    }
    return ev;
  }
  if (now - last_probe_ >= opts_.heartbeat_interval) {
    last_probe_ = now;
    ev = heartbeat();
  }
  const auto silent = check_silence(now);
  ev.became_suspect = silent.became_suspect;
  ev.went_down = silent.went_down;
  return ev;
}

}  // namespace actor::detail
