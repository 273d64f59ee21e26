// Fuzz target: the seal's parsers of untrusted text (seal/shamir.h,
// seal/seal_record.h). DecodeShare reads what anyone may POST to
// /admin/v1/seal/unseal; ParseSealRecord reads the database's seal record.
//
// Properties (each checked with __builtin_trap()):
// - DecodeShare accepts only what EncodeShare writes: an accepted share
//   re-encodes to the input (blanks around it trimmed), so each share has
//   one spelling; its failures are InvalidArgument;
// - the input with a valid share's check appended never fails in another
//   way than InvalidArgument;
// - an accepted seal record re-encodes to a record that parses to the same
//   fields, and its failures are DataLoss.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "keywarden/seal/seal_record.h"
#include "keywarden/seal/shamir.h"

namespace {

constexpr char kKeyId[] = "9b1d4c2e-0c4f-4f6a-8f1e-2b3c4d5e6f70";
const std::vector<uint8_t> kCheckKey(32, 0x5a);

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' ||
                        s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using keywarden::seal::DecodeShare;
  using keywarden::seal::EncodeShare;

  auto share = DecodeShare(text, kKeyId, kCheckKey);
  if (share.ok()) {
    if (EncodeShare(*share, kKeyId, kCheckKey) != Trim(text)) __builtin_trap();
  } else if (!absl::IsInvalidArgument(share.status())) {
    __builtin_trap();
  }

  auto record = keywarden::seal::ParseSealRecord(text);
  if (record.ok()) {
    auto again =
        keywarden::seal::ParseSealRecord(keywarden::seal::EncodeSealRecord(*record));
    if (!again.ok() || again->type != record->type ||
        again->key_id != record->key_id || again->verifier != record->verifier ||
        again->shares != record->shares ||
        again->threshold != record->threshold ||
        again->share_check_key != record->share_check_key ||
        again->wrapped_key != record->wrapped_key) {
      __builtin_trap();
    }
  } else if (!absl::IsDataLoss(record.status())) {
    __builtin_trap();
  }
  return 0;
}
