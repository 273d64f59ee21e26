// Fuzz target: access-token verification (iam/jwt.h).
// Targets TokenVerifier::Verify with one known P-256 key (kid "fuzz-1") at a
// fixed time, so the seed tokens signed by that key verify and mutations
// exercise every later check.
//
// Properties (each checked with __builtin_trap()):
// - a verified token's claims name kTokenIssuer and non-empty subject, jti,
//   akid and kind, and the fixed time lies in [nbf - leeway, exp + leeway);
// - a token longer than kMaxTokenSize is rejected.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "keywarden/iam/jwt.h"

namespace {

// SubjectPublicKeyInfo of the key that signed corpus/jwt_fuzzer/valid-*.
// The private key is not kept: the seeds are fixed bytes.
constexpr uint8_t kPublicKeyDer[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
    0x42, 0x00, 0x04, 0xa5, 0x72, 0x00, 0xc6, 0x87, 0x60, 0x39, 0x12, 0xee,
    0x10, 0x31, 0x8f, 0xff, 0x55, 0x7a, 0x39, 0x3a, 0xcb, 0xfe, 0xbd, 0x81,
    0xc4, 0x7a, 0x48, 0x5a, 0xd7, 0xec, 0xf3, 0xb6, 0xed, 0x25, 0x2e, 0x3d,
    0xb9, 0x51, 0xf2, 0x48, 0xdc, 0x35, 0x62, 0xf3, 0xfe, 0x97, 0x7b, 0xcd,
    0xc7, 0x81, 0x50, 0xb2, 0xa8, 0x26, 0x46, 0x3b, 0xe8, 0xe4, 0xce, 0x4c,
    0xa9, 0xbd, 0x7e, 0x14, 0x6e, 0xf6, 0x9b};

// The seeds are valid from 1800000000 - 60 to 1800000000 + 3600.
const absl::Time kNow = absl::FromUnixSeconds(1800000000);
const absl::Duration kLeeway = absl::Seconds(30);

const keywarden::iam::TokenVerifier& Verifier() {
  static const keywarden::iam::TokenVerifier* verifier = [] {
    auto* v = new keywarden::iam::TokenVerifier();
    if (!v->AddKey("fuzz-1", kPublicKeyDer).ok()) __builtin_trap();
    return v;
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auto claims = Verifier().Verify(token, kNow, kLeeway);
  if (!claims.ok()) return 0;
  if (size > keywarden::iam::TokenVerifier::kMaxTokenSize) __builtin_trap();
  if (claims->issuer != keywarden::iam::kTokenIssuer ||
      claims->subject.empty() || claims->jwt_id.empty() ||
      claims->api_key_id.empty() || claims->kind.empty()) {
    __builtin_trap();
  }
  if (kNow < claims->not_before - kLeeway ||
      kNow >= claims->expires_at + kLeeway) {
    __builtin_trap();
  }
  return 0;
}
