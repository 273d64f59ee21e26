// Fuzz target: the envelope format (docs/formats/envelope.md) as
// `keywarden decrypt` meets it, from an untrusted file or pipe.
// Targets client::EnvelopeHeaderSize, client::ParseEnvelopeHeader,
// client::EncodeEnvelopeHeader and client::SegmentCipher::Open (with the
// golden vectors' DEK).
//
// Properties (each checked with __builtin_trap()):
// - a header that parses re-encodes to exactly its bytes (one encoding per
//   header), and its announced length is its size;
// - a header is refused with InvalidArgument, never another code;
// - the segments after a parsed header open only as the format allows: a
//   non-last segment is exactly 65552 bytes, and what opens has the
//   segment's size minus the tag. (An input whose segments authenticate
//   under the golden DEK is one of the seeds, not something a mutation
//   finds.)
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "keywarden/client/envelope_format.h"

namespace {

using keywarden::SecretBytes;
using namespace keywarden::client;

SecretBytes GoldenDek() {
  SecretBytes dek(32);
  for (size_t i = 0; i < 32; ++i) dek.data()[i] = static_cast<uint8_t>(i);
  return dek;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  if (size < kEnvelopePreambleSize) return 0;
  auto announced = EnvelopeHeaderSize(input.first<kEnvelopePreambleSize>());
  if (!announced.ok()) {
    if (announced.status().code() != absl::StatusCode::kInvalidArgument) {
      __builtin_trap();
    }
    return 0;
  }
  if (*announced > size) return 0;
  const std::span<const uint8_t> header_bytes = input.first(*announced);
  auto header = ParseEnvelopeHeader(header_bytes);
  if (!header.ok()) {
    if (header.status().code() != absl::StatusCode::kInvalidArgument) {
      __builtin_trap();
    }
    return 0;
  }
  auto encoded = EncodeEnvelopeHeader(*header);
  if (!encoded.ok() || encoded->size() != header_bytes.size() ||
      !std::equal(encoded->begin(), encoded->end(), header_bytes.begin())) {
    __builtin_trap();
  }

  auto cipher =
      SegmentCipher::Create(GoldenDek(), header->nonce_prefix, header_bytes);
  if (!cipher.ok()) __builtin_trap();
  std::span<const uint8_t> rest = input.subspan(*announced);
  std::vector<uint8_t> out(kEnvelopeSegmentSize);
  while (true) {
    const size_t n = std::min(rest.size(), kEnvelopeSealedSegmentSize);
    const bool last = n == rest.size();
    const std::span<const uint8_t> sealed = rest.first(n);
    const size_t plain = n >= 16 ? n - 16 : 0;
    absl::Status s = cipher->Open(sealed, last, {out.data(), plain});
    if (s.ok() && !last && n != kEnvelopeSealedSegmentSize) __builtin_trap();
    if (!s.ok() || last) break;
    rest = rest.subspan(n);
  }
  return 0;
}
