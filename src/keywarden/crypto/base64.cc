#include "keywarden/crypto/base64.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {
namespace {

// RFC 4648 §4, Table 1.
constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kPad = '=';
constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> MakeDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
  }
  return table;
}
constexpr std::array<uint8_t, 256> kDecode = MakeDecodeTable();

// RFC 4648 §5, Table 2 (the "URL and Filename safe" alphabet).
constexpr char kUrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<uint8_t, 256> MakeUrlDecodeTable() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<uint8_t>(kUrlAlphabet[i])] = static_cast<uint8_t>(i);
  }
  return table;
}
constexpr std::array<uint8_t, 256> kUrlDecode = MakeUrlDecodeTable();

absl::Status IllegalUrlAt(size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("illegal base64url data at input byte ", offset));
}

absl::Status IllegalAt(size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("illegal base64 data at input byte ", offset));
}

// Decodes the quantum starting at `si` when the fast path cannot: it holds a
// bad symbol, padding, or is incomplete. The offsets reported follow Go's
// encoding/base64 (decodeQuantum with Strict()), except that '\n' and '\r'
// are not skipped: whitespace is illegal here (base64.h). On success writes
// 1..3 bytes at `dst`, sets `written`, and the quantum was the last one.
absl::Status DecodeLastQuantum(std::string_view src, size_t si, uint8_t* dst,
                               size_t& written) {
  const size_t n = src.size();
  uint8_t sym[4] = {0, 0, 0, 0};
  size_t dlen = 4;
  size_t trailing_garbage = 0;
  bool has_trailing_garbage = false;
  for (size_t j = 0; j < 4; ++j) {
    if (si == n) {
      // Padding is required (RFC 4648 §3.2): an unpadded short quantum is
      // reported at its first symbol, as Go does.
      return IllegalAt(si - j);
    }
    const char c = src[si++];
    const uint8_t v = kDecode[static_cast<uint8_t>(c)];
    if (v != kInvalid) {
      sym[j] = v;
      continue;
    }
    if (c != kPad) return IllegalAt(si - 1);
    // Padding may only stand in the last one or two positions of the final
    // quantum (RFC 4648 §4).
    if (j < 2) return IllegalAt(si - 1);
    if (j == 2) {
      // "xx" must be followed by "==".
      if (si == n) return IllegalAt(n);
      if (src[si] != kPad) return IllegalAt(si - 1);
      ++si;
    }
    if (si < n) {
      // Data after the padding ("padding in the middle").
      has_trailing_garbage = true;
      trailing_garbage = si;
    }
    dlen = j;
    break;
  }
  const uint32_t val = (uint32_t{sym[0]} << 18) | (uint32_t{sym[1]} << 12) |
                       (uint32_t{sym[2]} << 6) | uint32_t{sym[3]};
  const uint8_t b0 = static_cast<uint8_t>(val >> 16);
  const uint8_t b1 = static_cast<uint8_t>(val >> 8);
  const uint8_t b2 = static_cast<uint8_t>(val);
  // RFC 4648 §3.5: the pad bits must be zero, so each byte string has exactly
  // one encoding (canonical encoding matters for anything authenticated).
  switch (dlen) {
    case 4:
      dst[0] = b0;
      dst[1] = b1;
      dst[2] = b2;
      break;
    case 3:
      if (b2 != 0) return IllegalAt(si - 1);
      dst[0] = b0;
      dst[1] = b1;
      break;
    case 2:
      if (b1 != 0 || b2 != 0) return IllegalAt(si - 2);
      dst[0] = b0;
      break;
  }
  if (has_trailing_garbage) return IllegalAt(trailing_garbage);
  written = dlen - 1;
  return absl::OkStatus();
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> bytes) {
  const size_t n = bytes.size();
  std::string out(((n + 2) / 3) * 4, '\0');
  const uint8_t* in = bytes.data();
  char* o = out.data();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) |
                       uint32_t{in[i + 2]};
    *o++ = kAlphabet[(v >> 18) & 0x3f];
    *o++ = kAlphabet[(v >> 12) & 0x3f];
    *o++ = kAlphabet[(v >> 6) & 0x3f];
    *o++ = kAlphabet[v & 0x3f];
  }
  const size_t rest = n - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    *o++ = kAlphabet[(v >> 18) & 0x3f];
    *o++ = kAlphabet[(v >> 12) & 0x3f];
    *o++ = kPad;
    *o++ = kPad;
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    *o++ = kAlphabet[(v >> 18) & 0x3f];
    *o++ = kAlphabet[(v >> 12) & 0x3f];
    *o++ = kAlphabet[(v >> 6) & 0x3f];
    *o++ = kPad;
  }
  return out;
}

absl::StatusOr<SecretBytes> Base64Decode(std::string_view text) {
  const size_t n = text.size();
  // Upper bound; trimmed at the end (padding yields fewer bytes).
  SecretBytes out(((n + 3) / 4) * 3);
  uint8_t* dst = out.data();
  size_t o = 0;
  size_t si = 0;
  while (si < n) {
    // Fast path: four alphabet symbols, not the tail of the input that may
    // carry padding. A quantum that fails here is re-read by the slow path,
    // which finds the exact offset.
    if (si + 4 <= n) {
      const uint32_t a = kDecode[static_cast<uint8_t>(text[si])];
      const uint32_t b = kDecode[static_cast<uint8_t>(text[si + 1])];
      const uint32_t c = kDecode[static_cast<uint8_t>(text[si + 2])];
      const uint32_t d = kDecode[static_cast<uint8_t>(text[si + 3])];
      // kInvalid (0xff) has the top bits set; valid symbols are < 64.
      if (((a | b | c | d) & 0xc0) == 0) {
        const uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        dst[o] = static_cast<uint8_t>(v >> 16);
        dst[o + 1] = static_cast<uint8_t>(v >> 8);
        dst[o + 2] = static_cast<uint8_t>(v);
        o += 3;
        si += 4;
        continue;
      }
    }
    size_t written = 0;
    absl::Status status = DecodeLastQuantum(text, si, dst + o, written);
    if (!status.ok()) return status;
    o += written;
    break;  // DecodeLastQuantum only succeeds on the final quantum.
  }
  out.Truncate(o);
  return out;
}

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  const size_t n = bytes.size();
  // RFC 7515 §2: the padding of RFC 4648 §5 is omitted, so 1 or 2 trailing
  // bytes take 2 or 3 symbols.
  std::string out;
  out.reserve((n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1));
  const uint8_t* in = bytes.data();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) |
                       uint32_t{in[i + 2]};
    out.push_back(kUrlAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kUrlAlphabet[(v >> 12) & 0x3f]);
    out.push_back(kUrlAlphabet[(v >> 6) & 0x3f]);
    out.push_back(kUrlAlphabet[v & 0x3f]);
  }
  const size_t rest = n - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    out.push_back(kUrlAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kUrlAlphabet[(v >> 12) & 0x3f]);
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out.push_back(kUrlAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kUrlAlphabet[(v >> 12) & 0x3f]);
    out.push_back(kUrlAlphabet[(v >> 6) & 0x3f]);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  const size_t n = text.size();
  // Every symbol must be in the alphabet; '=' is not (no padding, RFC 7515
  // §2), so it is reported like any other stray character.
  for (size_t i = 0; i < n; ++i) {
    if (kUrlDecode[static_cast<uint8_t>(text[i])] == kInvalid) {
      return IllegalUrlAt(i);
    }
  }
  // A single symbol carries only 6 bits: no byte string encodes to it.
  if (n % 4 == 1) return IllegalUrlAt(n);
  std::vector<uint8_t> out;
  out.reserve((n / 4) * 3 + 2);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t v = (uint32_t{kUrlDecode[static_cast<uint8_t>(text[i])]}
                        << 18) |
                       (uint32_t{kUrlDecode[static_cast<uint8_t>(text[i + 1])]}
                        << 12) |
                       (uint32_t{kUrlDecode[static_cast<uint8_t>(text[i + 2])]}
                        << 6) |
                       uint32_t{kUrlDecode[static_cast<uint8_t>(text[i + 3])]};
    out.push_back(static_cast<uint8_t>(v >> 16));
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
  const size_t rest = n - i;
  if (rest == 0) return out;
  uint32_t v = 0;
  for (size_t j = 0; j < rest; ++j) {
    v |= uint32_t{kUrlDecode[static_cast<uint8_t>(text[i + j])]}
         << (18 - 6 * j);
  }
  // RFC 4648 §3.5: the bits past the last whole byte must be zero, so the
  // encoding is canonical.
  if (rest == 2) {
    if ((v & 0xffff) != 0) return IllegalUrlAt(n - 1);
    out.push_back(static_cast<uint8_t>(v >> 16));
  } else {  // rest == 3
    if ((v & 0xff) != 0) return IllegalUrlAt(n - 1);
    out.push_back(static_cast<uint8_t>(v >> 16));
    out.push_back(static_cast<uint8_t>(v >> 8));
  }
  return out;
}

}  // namespace keywarden::crypto
