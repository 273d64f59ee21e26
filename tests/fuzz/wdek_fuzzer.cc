// Fuzz target: the binary WDEK parser and unwrap of both formats
// (docs/formats/wdek.md). Targets keys::ParseWdek, keys::UnwrapDek (format
// 1, with the golden vectors' fixed key-encryption key, instance and key
// ids) and keys::UnwrapDekV2 (format 2, with the golden vectors' 32- and
// 16-byte materials).
//
// Properties (each checked with __builtin_trap()):
// - format 1: a parsed WDEK's version id is canonical UUID text that
//   round-trips to the input's bytes 1-16, and its nonce and ciphertext
//   spans are exactly the input's bytes 17-28 and 29-end;
// - format 2: the fingerprint, salt, nonce and ciphertext spans are exactly
//   the input's bytes 1-16, 17-48, 49-60 and 61-end, and no version id is set;
// - anything shorter than its format's header + tag, or with a format byte
//   other than 0x01 or 0x02, is rejected; a well-framed input is accepted;
// - an input that unwraps re-wraps, with its own nonce (and salt), to the
//   same bytes; a format-2 input opens only under the material whose
//   fingerprint it carries, and never as format 1 (nor format 1 as 2).
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

using keywarden::crypto::kGcmTagSize;
using keywarden::keys::kWdekFormatV1;
using keywarden::keys::kWdekFormatV2;
using keywarden::keys::kWdekHeaderSize;
using keywarden::keys::kWdekV2HeaderSize;
using keywarden::keys::WdekKey;

constexpr std::string_view kInstance = "11111111-2222-4333-8444-555555555555";
constexpr std::string_view kKey = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

std::vector<uint8_t> Iota(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i);
  return v;
}

const keywarden::crypto::AesGcm& Kek() {
  static const keywarden::crypto::AesGcm* kek = [] {
    auto made = keywarden::crypto::AesGcm::Create(Iota(32));
    if (!made.ok()) __builtin_trap();
    return new keywarden::crypto::AesGcm(*std::move(made));
  }();
  return *kek;
}

// The format-2 keys of the golden vectors: materials 00..1f and 00..0f.
const std::vector<WdekKey>& V2Keys() {
  static const auto* keys = [] {
    auto* out = new std::vector<WdekKey>;
    for (size_t size : {32, 16}) {
      auto key = WdekKey::Create(Iota(size));
      if (!key.ok()) __builtin_trap();
      out->push_back(*std::move(key));
    }
    return out;
  }();
  return *keys;
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

bool WellFramed(const uint8_t* data, size_t size) {
  if (size == 0) return false;
  if (data[0] == kWdekFormatV1) return size >= kWdekHeaderSize + kGcmTagSize;
  if (data[0] == kWdekFormatV2) return size >= kWdekV2HeaderSize + kGcmTagSize;
  return false;
}

void CheckV1(const uint8_t* data, size_t size,
             const keywarden::keys::Wdek& wdek) {
  auto version_bytes = keywarden::UuidToBytes(wdek.version_id);
  if (!version_bytes ||
      !std::equal(version_bytes->begin(), version_bytes->end(), data + 1)) {
    __builtin_trap();
  }
  if (wdek.nonce.data() != data + 17 ||
      wdek.nonce.size() != keywarden::crypto::kGcmNonceSize ||
      wdek.ciphertext_and_tag.data() != data + kWdekHeaderSize ||
      wdek.ciphertext_and_tag.size() != size - kWdekHeaderSize ||
      !wdek.fingerprint.empty() || !wdek.salt.empty()) {
    __builtin_trap();
  }
  for (const std::vector<std::string>& aad : AadLists()) {
    for (const WdekKey& key : V2Keys()) {
      if (keywarden::keys::UnwrapDekV2(key, wdek, aad).ok()) __builtin_trap();
    }
    auto dek = keywarden::keys::UnwrapDek(Kek(), kInstance, kKey, wdek, aad);
    if (!dek.ok()) continue;
    if (dek->size() != size - kWdekHeaderSize - kGcmTagSize) __builtin_trap();
    auto again = keywarden::keys::WrapDekWithNonceForTesting(
        Kek(), kInstance, kKey, wdek.version_id, wdek.nonce, dek->span(), aad);
    if (!again.ok() || again->size() != size ||
        !std::equal(again->begin(), again->end(), data)) {
      __builtin_trap();  // unwrap and wrap are inverse
    }
  }
}

void CheckV2(const uint8_t* data, size_t size,
             const keywarden::keys::Wdek& wdek) {
  constexpr size_t kFp = keywarden::keys::kWdekFingerprintSize;
  constexpr size_t kSalt = keywarden::keys::kWdekSaltSize;
  if (!wdek.version_id.empty() || wdek.fingerprint.data() != data + 1 ||
      wdek.fingerprint.size() != kFp || wdek.salt.data() != data + 1 + kFp ||
      wdek.salt.size() != kSalt || wdek.nonce.data() != data + 1 + kFp + kSalt ||
      wdek.nonce.size() != keywarden::crypto::kGcmNonceSize ||
      wdek.ciphertext_and_tag.data() != data + kWdekV2HeaderSize ||
      wdek.ciphertext_and_tag.size() != size - kWdekV2HeaderSize) {
    __builtin_trap();
  }
  for (const std::vector<std::string>& aad : AadLists()) {
    if (keywarden::keys::UnwrapDek(Kek(), kInstance, kKey, wdek, aad).ok()) {
      __builtin_trap();
    }
    for (const WdekKey& key : V2Keys()) {
      auto dek = keywarden::keys::UnwrapDekV2(key, wdek, aad);
      if (!dek.ok()) continue;
      if (!key.Matches(wdek.fingerprint) ||
          dek->size() != size - kWdekV2HeaderSize - kGcmTagSize) {
        __builtin_trap();
      }
      auto again = keywarden::keys::WrapDekV2ForTesting(
          key, wdek.salt, wdek.nonce, dek->span(), aad);
      if (!again.ok() || again->size() != size ||
          !std::equal(again->begin(), again->end(), data)) {
        __builtin_trap();  // unwrap and wrap are inverse
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto wdek = keywarden::keys::ParseWdek(bytes);
  if (!wdek.ok()) {
    if (WellFramed(data, size)) __builtin_trap();  // must parse
    return 0;
  }
  if (!WellFramed(data, size) || wdek->format != data[0]) __builtin_trap();
  if (wdek->format == kWdekFormatV1) {
    CheckV1(data, size, *wdek);
  } else {
    CheckV2(data, size, *wdek);
  }
  return 0;
}
