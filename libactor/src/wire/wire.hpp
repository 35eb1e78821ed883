#pragma once
// The wire layer's codec, whole: frames (frames.hpp), envelopes and their
// batching (envelopes.hpp), and the BATCH decoder (batch_decoder.hpp). No sockets.

#include "wire/batch_decoder.hpp"
#include "wire/envelopes.hpp"
#include "wire/frames.hpp"
