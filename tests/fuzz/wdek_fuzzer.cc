// Fuzz target: the binary WDEK parser and unwrap (docs/formats/wdek.md).
// Targets keys::ParseWdek and keys::UnwrapDek with the golden vectors' fixed
// key-encryption key, instance and key ids.
//
// Properties (each checked with __builtin_trap()):
// - a parsed WDEK's version id is canonical UUID text that round-trips to
//   the input's bytes 1-16, and its nonce and ciphertext spans are exactly
//   the input's bytes 17-28 and 29-end;
// - anything shorter than header + tag, or with a format byte other than
//   0x01, is rejected;
// - an input that unwraps re-wraps, with its own nonce, to the same bytes.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keywarden/common/ids.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/keys/envelope.h"

namespace {

using keywarden::keys::kWdekFormatV1;
using keywarden::keys::kWdekHeaderSize;

constexpr std::string_view kInstance = "11111111-2222-4333-8444-555555555555";
constexpr std::string_view kKey = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

const keywarden::crypto::AesGcm& Kek() {
  static const keywarden::crypto::AesGcm* kek = [] {
    std::array<uint8_t, 32> material;
    for (size_t i = 0; i < material.size(); ++i) material[i] = i;
    auto made = keywarden::crypto::AesGcm::Create(material);
    if (!made.ok()) __builtin_trap();
    return new keywarden::crypto::AesGcm(*std::move(made));
  }();
  return *kek;
}

// The aad lists of the golden vectors, plus one at the item limit.
const std::vector<std::vector<std::string>>& AadLists() {
  static const auto* lists = new std::vector<std::vector<std::string>>{
      {},
      {"ctx-1", "ctx-2"},
      {"ab", "c"},
      std::vector<std::string>(keywarden::keys::kMaxAadItems, "x"),
  };
  return *lists;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto wdek = keywarden::keys::ParseWdek(bytes);
  if (!wdek.ok()) {
    if (size >= kWdekHeaderSize + keywarden::crypto::kGcmTagSize &&
        data[0] == kWdekFormatV1) {
      __builtin_trap();  // a well-framed WDEK must parse
    }
    return 0;
  }
  if (size < kWdekHeaderSize + keywarden::crypto::kGcmTagSize ||
      data[0] != kWdekFormatV1) {
    __builtin_trap();
  }
  auto version_bytes = keywarden::UuidToBytes(wdek->version_id);
  if (!version_bytes ||
      !std::equal(version_bytes->begin(), version_bytes->end(), data + 1)) {
    __builtin_trap();
  }
  if (wdek->nonce.data() != data + 17 ||
      wdek->nonce.size() != keywarden::crypto::kGcmNonceSize ||
      wdek->ciphertext_and_tag.data() != data + kWdekHeaderSize ||
      wdek->ciphertext_and_tag.size() != size - kWdekHeaderSize) {
    __builtin_trap();
  }

  for (const std::vector<std::string>& aad : AadLists()) {
    auto dek = keywarden::keys::UnwrapDek(Kek(), kInstance, kKey, *wdek, aad);
    if (!dek.ok()) continue;
    if (dek->size() !=
        size - kWdekHeaderSize - keywarden::crypto::kGcmTagSize) {
      __builtin_trap();
    }
    auto again = keywarden::keys::WrapDekWithNonceForTesting(
        Kek(), kInstance, kKey, wdek->version_id, wdek->nonce, dek->span(),
        aad);
    if (!again.ok() || again->size() != size ||
        !std::equal(again->begin(), again->end(), data)) {
      __builtin_trap();  // unwrap and wrap are inverse
    }
  }
  return 0;
}
