#include "net/clients.hpp"

#include <cerrno>
#include <vector>

#include "actor/log.hpp"
#include "wire/wire.hpp"

namespace actor::detail {

namespace {
constexpr std::size_t max_client_backlog_bytes = 4u << 20;  // replies held for one slow client

std::chrono::steady_clock::time_point mono_now() { return std::chrono::steady_clock::now(); }
}  // namespace

clients::clients(zmq::socket_t& router, transport_counters& counters, std::chrono::milliseconds down_after,
                 std::size_t max_batch_bytes)
    : router_(router), counters_(counters), down_after_(down_after), max_batch_bytes_(max_batch_bytes) {}

void clients::hello(const std::string& id, const std::string& name, time_point now, bool via_gateway,
                    const std::string& alias) {
  auto& c = clients_[id];  // a client saying HELLO again keeps the replies it is owed
  c.name = name;
  c.via_gateway = via_gateway;
  c.alias = alias;
  c.last_heard = now;
  c.unreachable_since = {};
  counters_.clients.store(clients_.size(), std::memory_order_relaxed);
}

void clients::heard(const std::string& id, time_point now) {
  if (auto it = clients_.find(id); it != clients_.end()) {
    it->second.last_heard = now;
    it->second.unreachable_since = {};
  }
}

bool clients::add(const std::string& id, std::string_view bytes) {
  if (clients_.find(id) == clients_.end()) return false;
  auto& b = client_batches_[id];
  auto& count = client_batch_counts_[id];
  if (count > 0 && b.size() + bytes.size() > max_batch_bytes_) {  // batches stay small, as for peers
    wire::set_batch_count(b, count);
    queue(id, std::move(b), count);
    b = std::string();
    count = 0;
  }
  if (count == 0) wire::begin_batch(b, 0);
  b += bytes;
  ++count;
  return true;
}

void clients::flush() {
  for (auto& [id, b] : client_batches_) {
    auto count = client_batch_counts_[id];
    if (count == 0) continue;
    wire::set_batch_count(b, count);
    queue(id, std::move(b), count);
  }
  client_batches_.clear();
  client_batch_counts_.clear();
  flush_stalled();
}

void clients::queue(const std::string& id, std::string&& frame, std::size_t count) {
  auto it = clients_.find(id);
  if (it == clients_.end()) {
    counters_.dropped[static_cast<std::size_t>(drop_reason::client_gone)].fetch_add(count, std::memory_order_relaxed);
    return;
  }
  auto& c = it->second;
  if (!c.stalled.empty() && c.stalled_bytes + frame.size() > max_client_backlog_bytes) {
    counters_.dropped[static_cast<std::size_t>(drop_reason::overloaded)].fetch_add(count, std::memory_order_relaxed);
    ACTOR_LOG(debug, "transport", "client_backlog_full", {"client", id}, {"envelopes", count});
    return;
  }
  c.stalled_bytes += frame.size();
  c.stalled.emplace_back(std::move(frame), count);
  stalled_clients_.insert(id);
}

void clients::flush_stalled() {
  for (auto it = stalled_clients_.begin(); it != stalled_clients_.end();) {
    auto cit = clients_.find(*it);
    while (cit != clients_.end() && !cit->second.stalled.empty()) {
      auto& [frame, count] = cit->second.stalled.front();
      const auto sent = send(*it, frame);
      if (sent == send_result::full) break;  // the client reads slowly: again on the next turn
      counters_.envelopes_out.fetch_add(sent == send_result::sent ? count : 0, std::memory_order_relaxed);
      if (sent == send_result::gone) {  // its connection is gone: what it was owed is lost
        cit = clients_.find(*it);  // a client long unreachable was forgotten (and counted) meanwhile
        if (cit != clients_.end()) drop_stalled(cit->second);
        break;
      }
      cit->second.stalled_bytes -= frame.size();
      cit->second.stalled.pop_front();
    }
    if (cit == clients_.end() || cit->second.stalled.empty()) {
      it = stalled_clients_.erase(it);
    } else {
      ++it;
    }
  }
}

clients::send_result clients::send(const std::string& id, const std::string& frame) {
  try {
    // ROUTER takes a message whole or not at all: EAGAIN comes on the first part, with a full queue
    if (!router_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return send_result::full;
    if (!router_.send(zmq::buffer(frame), zmq::send_flags::dontwait)) return send_result::full;
    counters_.frames_out.fetch_add(1, std::memory_order_relaxed);
    return send_result::sent;
  } catch (const zmq::error_t& e) {  // EHOSTUNREACH: the client is gone
    if (e.num() == EHOSTUNREACH) unreachable(id, mono_now());
    return send_result::gone;
  }
}

void clients::unreachable(const std::string& id, time_point now) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  auto& since = it->second.unreachable_since;
  if (since == time_point{}) since = now;
  if (now - since > down_after_) forget(id);  // not just a connection being redialled
}

void clients::drop_stalled(client& c) {
  std::size_t lost = 0;
  for (const auto& f : c.stalled) lost += f.second;
  counters_.dropped[static_cast<std::size_t>(drop_reason::client_gone)].fetch_add(lost, std::memory_order_relaxed);
  c.stalled.clear();
  c.stalled_bytes = 0;
}

void clients::forget(const std::string& id) {
  if (auto it = clients_.find(id); it != clients_.end()) drop_stalled(it->second);
  if (clients_.erase(id) > 0) {
    counters_.clients.store(clients_.size(), std::memory_order_relaxed);
    ACTOR_LOG(debug, "transport", "client_gone", {"client", id});
    if (on_forget) on_forget(id);
  }
}

void clients::probe(time_point now, const std::string& beacon) {
  // Only a send tells whether a client's connection still exists: ROUTER_MANDATORY
  // fails with EHOSTUNREACH while it is gone. Clients that keep talking need no probe;
  // one whose connection stays gone for down_after (not just redialling) is forgotten.
  std::vector<std::string> gone;
  for (auto& [id, c] : clients_) {
    if (now - c.last_heard <= down_after_) continue;
    try {
      if (router_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        [[maybe_unused]] auto sent = router_.send(zmq::buffer(beacon), zmq::send_flags::dontwait);
      }  // else: its queue is full (EAGAIN): still connected
      c.unreachable_since = {};
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;
      gone.push_back(id);
    }
  }
  for (const auto& id : gone) unreachable(id, now);
}

}  // namespace actor::detail
