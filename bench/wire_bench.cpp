// The cost of decoding inbound BATCH frames, the hot path of a node's I/O
// thread: the general decoder (a MessagePack object tree per frame, then
// read_envelope per element) against wire::batch_decoder, on batches of 100
// envelopes carrying the remote benchmark's 64-byte payload; and the batch
// decoder as nodes use it, on such batches as nodes send each other (repeat
// elements), checking bodies rather than building them.
//
// Usage: actor_wire_bench [ROUNDS]   (default 20000 batches per decoder)
// Output: RESULT lines, ns per envelope; exit 1 if the two decoders disagree.
// For a count that does not drift with the machine's load, run it under
// `valgrind --tool=callgrind` with a small ROUNDS and compare instructions.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_util.hpp"
#include "wire/wire.hpp"

namespace wire = actor::detail::wire;

namespace {

constexpr int envelopes_per_batch = 100;

std::string sample_batch(bool repeats) {
  const actor::detail::wire_ref from{"bench-client", "tcp://127.0.0.1:40000", 0x1234567890abcdefULL, 7};
  const actor::detail::wire_ref to{"bench-server", "tcp://127.0.0.1:40001", 0x234567890abcdef1ULL, 70000};
  msgpack::sbuffer body;
  msgpack::packer<msgpack::sbuffer> pk(body);
  pk.pack_map(1);
  pk.pack(std::string("data"));
  pk.pack(std::string(64, 'x'));
  std::string batch;
  wire::begin_batch(batch, envelopes_per_batch);
  wire::written_envelope last;
  for (int i = 0; i < envelopes_per_batch; ++i) {
    const auto e = wire::encode_envelope(wire::kind::send, &from, to, 0, 0, "bench.remote.payload",
                                         {body.data(), body.size()});
    last = wire::append_envelope(batch, e, wire::layout_of(e), last, repeats);
  }
  return batch;
}

template <class F>
double ns_per_envelope(long rounds, F&& decode_once) {
  const auto t0 = std::chrono::steady_clock::now();
  for (long r = 0; r < rounds; ++r) decode_once();
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  return ns / (static_cast<double>(rounds) * envelopes_per_batch);
}

}  // namespace

int main(int argc, char** argv) {
  const long rounds = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 20000;
  if (rounds <= 0) {
    std::fprintf(stderr, "usage: actor_wire_bench [ROUNDS > 0]\n");
    return 2;
  }
  const auto batch = sample_batch(false);
  const auto compact = sample_batch(true);  // as nodes send it to each other: repeat elements
  const auto limits = wire::limits(16u << 20);
  wire::batch_decoder decoder(limits);
  wire::batch_decoder checker(limits, wire::batch_decoder::bodies::checked);
  std::uint64_t general_sum = 0;
  std::uint64_t batch_sum = 0;
  bool ok = true;
  const double general = ns_per_envelope(rounds, [&] {
    auto f = wire::decode_frame(batch.data(), batch.size(), limits);
    if (!f) {
      ok = false;
      return;
    }
    for (std::uint32_t i = 1; i < f->size; ++i) {
      auto v = wire::read_envelope(f->items[i]);
      if (!v) {
        ok = false;
        continue;
      }
      general_sum += v->receiver.id + v->body->via.map.ptr[0].val.via.str.size;
    }
  });
  const double fast = ns_per_envelope(rounds, [&] {
    if (!decoder.decode(batch.data(), batch.size())) {
      ok = false;
      return;
    }
    for (const auto& v : decoder.envelopes()) batch_sum += v.receiver.id + v.body->via.map.ptr[0].val.via.str.size;
  });
  // what a node's I/O thread does now: repeats, bodies checked and left as bytes for the actors
  std::uint64_t compact_sum = 0;
  const double checked = ns_per_envelope(rounds, [&] {
    if (!checker.decode(compact.data(), compact.size())) {
      ok = false;
      return;
    }
    for (const auto& v : checker.envelopes()) compact_sum += v.receiver.id + v.body_bytes.size() - 8;  // 64 B payload
  });
  if (!ok || general_sum != batch_sum || compact_sum != batch_sum) {
    std::fprintf(stderr, "actor_wire_bench: the decoders disagree\n");
    return 1;
  }
  bench::result("wire.decode_general.ns_per_envelope", general, "ns");
  bench::result("wire.decode_batch.ns_per_envelope", fast, "ns");
  bench::result("wire.decode_repeats_checked.ns_per_envelope", checked, "ns");
  bench::result("wire.bytes_per_envelope", static_cast<double>(batch.size()) / envelopes_per_batch, "B");
  bench::result("wire.repeats_bytes_per_envelope", static_cast<double>(compact.size()) / envelopes_per_batch, "B");
  return 0;
}
