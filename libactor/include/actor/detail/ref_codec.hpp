#pragma once
// How an actor_ref crosses the wire. A ref inside a message is written as
// [node, address, incarnation, id]; turning a local ref into that (exporting
// the actor) and back (finding the local actor or making a proxy) needs the
// node doing the encoding, which installs itself for the current thread.

#include <cstdint>
#include <string>

#include <msgpack.hpp>

namespace actor {
class actor_ref;
}

namespace actor::detail {

struct wire_ref {
  std::string node;              // the node's name (a Bridge client's routing id when address is empty)
  std::string address;           // the node's advertised endpoint; empty for a Bridge client
  std::uint64_t incarnation = 0; // the node's incarnation; 0 on id 0 means "whatever is current"
  std::uint64_t id = 0;          // the actor's id on that node; 0 is the node's manager
  MSGPACK_DEFINE_ARRAY(node, address, incarnation, id)
};

class ref_codec {
 public:
  virtual ~ref_codec() = default;
  virtual wire_ref to_wire(const actor_ref& r) = 0;
  virtual actor_ref from_wire(const wire_ref& w) = 0;

  /// The codec installed on this thread (null outside encoding/decoding).
  static ref_codec*& current() noexcept {
    thread_local ref_codec* c = nullptr;
    return c;
  }
};

/// Installs a codec for the current thread for the scope's lifetime.
class ref_codec_scope {
 public:
  explicit ref_codec_scope(ref_codec* c) noexcept : prev_(ref_codec::current()) { ref_codec::current() = c; }
  ~ref_codec_scope() { ref_codec::current() = prev_; }
  ref_codec_scope(const ref_codec_scope&) = delete;
  ref_codec_scope& operator=(const ref_codec_scope&) = delete;

 private:
  ref_codec* prev_;
};

}  // namespace actor::detail
