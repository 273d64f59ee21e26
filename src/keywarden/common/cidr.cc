#include "keywarden/common/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/strings.h"

namespace keywarden {
namespace {

// ::ffff:0:0/96, the IPv4-mapped prefix (RFC 4291 §2.5.5.2).
constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                   0, 0, 0, 0, 0xff, 0xff};
constexpr int kMappedPrefixBits = 96;

// Longer than any literal inet_pton accepts ("ffff:...:255.255.255.255" is
// 45 characters); checked first so a hostile string is never copied.
constexpr size_t kMaxLiteral = INET6_ADDRSTRLEN;

bool IsMapped(const std::array<uint8_t, 16>& bytes) {
  return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
}

// Whether the first `bits` bits of `a` and `b` are equal.
bool SamePrefix(const std::array<uint8_t, 16>& a,
                const std::array<uint8_t, 16>& b, int bits) {
  const int whole = bits / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// Whether every bit from `bits` on is zero (RFC 4632 §3.1: a prefix's
// host part is zero).
bool HostBitsZero(const std::array<uint8_t, 16>& a, int bits) {
  const int whole = bits / 8;
  if (whole >= 16) return true;
  const int rest = bits % 8;
  const uint8_t host_mask = static_cast<uint8_t>(0xff >> rest);
  if ((a[whole] & host_mask) != 0) return false;
  return std::all_of(a.begin() + whole + 1, a.end(),
                     [](uint8_t b) { return b == 0; });
}

// A prefix length: 1 to 3 decimal digits, no sign, no leading zero (so
// "/08" is not a second spelling of "/8").
std::optional<int> ParsePrefixLength(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// The caller's text for an error message, cut short: the message names
// the entry without echoing an arbitrarily long string.
std::string Quoted(std::string_view text) {
  constexpr size_t kMaxEcho = 64;
  if (text.size() <= kMaxEcho) return StrCat("\"", text, "\"");
  return StrCat("\"", text.substr(0, kMaxEcho), "...\"");
}

}  // namespace

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  // inet_pton reads a C string: an embedded NUL would end the literal early
  // and let "10.0.0.1\0junk" through as 10.0.0.1.
  if (text.empty() || text.size() > kMaxLiteral ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string literal(text);
  IpAddress out;
  if (literal.find(':') != std::string::npos) {
    // RFC 4291 §2.2 text forms, including the dotted-quad tail; glibc takes
    // no brackets, zone ids or over-long groups.
    if (inet_pton(AF_INET6, literal.c_str(), out.bytes.data()) != 1) {
      return std::nullopt;
    }
    out.is_v4 = IsMapped(out.bytes);
    return out;
  }
  // Dotted-quad only: glibc's inet_pton rejects the inet_aton forms (octal
  // and hex parts, fewer than four parts) and leading zeros, which other
  // parsers read as octal.
  std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), out.bytes.begin());
  if (inet_pton(AF_INET, literal.c_str(), out.bytes.data() + 12) != 1) {
    return std::nullopt;
  }
  out.is_v4 = true;
  return out;
}

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const std::optional<IpAddress> address = ParseIpAddress(address_text);
  if (!address) {
    return absl::InvalidArgumentError(AbslView(
        StrCat("not an IPv4 or IPv6 address in CIDR ", Quoted(text))));
  }
  // The prefix counts bits of the notation written: 0-32 after a dotted
  // quad, 0-128 after an IPv6 literal (RFC 4632 §3.1, RFC 4291 §2.3). An
  // IPv4-mapped IPv6 block is therefore ::ffff:a.b.c.d/96 to /128, which
  // is the same block as a.b.c.d/0 to /32.
  const bool v4_notation =
      address_text.find(':') == std::string_view::npos;
  const int max_bits = v4_notation ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::optional<int> parsed = ParsePrefixLength(text.substr(slash + 1));
    if (!parsed || *parsed > max_bits) {
      return absl::InvalidArgumentError(AbslView(
          StrCat("CIDR ", Quoted(text), ": the prefix length must be 0-",
                 max_bits)));
    }
    bits = *parsed;
  }
  Cidr cidr;
  cidr.base_ = *address;
  cidr.prefix_bits_ = v4_notation ? kMappedPrefixBits + bits : bits;
  if (!HostBitsZero(cidr.base_.bytes, cidr.prefix_bits_)) {
    return absl::InvalidArgumentError(AbslView(
        StrCat("CIDR ", Quoted(text),
               " has bits set after the prefix; write the network address")));
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& address) const {
  return SamePrefix(base_.bytes, address.bytes, prefix_bits_);
}

std::string Cidr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  // A mapped base always has a prefix of at least 96 bits (shorter ones
  // would leave the ffff bits as host bits), so it prints as IPv4.
  if (base_.is_v4 && prefix_bits_ >= kMappedPrefixBits) {
    inet_ntop(AF_INET, base_.bytes.data() + 12, buf, sizeof(buf));
    return StrCat(buf, "/", prefix_bits_ - kMappedPrefixBits);
  }
  inet_ntop(AF_INET6, base_.bytes.data(), buf, sizeof(buf));
  return StrCat(buf, "/", prefix_bits_);
}

bool AnyContains(std::span<const Cidr> blocks, const IpAddress& address) {
  return std::any_of(blocks.begin(), blocks.end(),
                     [&](const Cidr& c) { return c.Contains(address); });
}

std::span<const std::string_view> DefaultPrivateNetworks() {
  static constexpr std::string_view kBlocks[] = {
      "127.0.0.0/8",     // loopback (RFC 1122 §3.2.1.3)
      "10.0.0.0/8",      // RFC 1918 §3
      "172.16.0.0/12",   // RFC 1918 §3
      "192.168.0.0/16",  // RFC 1918 §3
      "100.64.0.0/10",   // shared address space (RFC 6598)
      "169.254.0.0/16",  // link-local (RFC 3927)
      "::1/128",         // loopback (RFC 4291 §2.5.3)
      "fc00::/7",        // unique local (RFC 4193)
      "fe80::/10",       // link-local (RFC 4291 §2.5.6)
  };
  return kBlocks;
}

}  // namespace keywarden
