#include "keywarden/net/address_policy.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace keywarden::net {
namespace {

namespace ip = boost::asio::ip;

constexpr std::string_view kMetadata = "cloud metadata";
constexpr std::string_view kLoopback = "loopback";
constexpr std::string_view kLinkLocal = "link-local";
constexpr std::string_view kPrivate = "private";
constexpr std::string_view kUnspecified = "unspecified";
constexpr std::string_view kMulticast = "multicast";
constexpr std::string_view kReserved = "reserved";

struct V4Block {
  uint32_t base;
  int bits;
  std::string_view why;
};

constexpr uint32_t V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

// Metadata endpoints first: they are refused even where the block around
// them is allowed.
constexpr V4Block kV4Blocks[] = {
    {V4(169, 254, 169, 254), 32, kMetadata},  // AWS, GCP, Azure IMDS, …
    {V4(169, 254, 170, 2), 32, kMetadata},    // AWS ECS task credentials
    {V4(168, 63, 129, 16), 32, kMetadata},    // Azure wire server
    {V4(100, 100, 100, 200), 32, kMetadata},  // Alibaba Cloud
    {V4(0, 0, 0, 0), 8, kUnspecified},
    {V4(127, 0, 0, 0), 8, kLoopback},
    {V4(169, 254, 0, 0), 16, kLinkLocal},
    {V4(10, 0, 0, 0), 8, kPrivate},
    {V4(172, 16, 0, 0), 12, kPrivate},
    {V4(192, 168, 0, 0), 16, kPrivate},
    {V4(100, 64, 0, 0), 10, kPrivate},  // RFC 6598 shared (carrier NAT)
    {V4(198, 18, 0, 0), 15, kPrivate},  // RFC 2544 benchmarking
    {V4(192, 0, 0, 0), 24, kReserved},  // IETF protocol assignments
    {V4(192, 0, 2, 0), 24, kReserved},  // documentation
    {V4(198, 51, 100, 0), 24, kReserved},
    {V4(203, 0, 113, 0), 24, kReserved},
    {V4(224, 0, 0, 0), 4, kMulticast},
    {V4(240, 0, 0, 0), 4, kReserved},  // and 255.255.255.255
};

bool Relaxable(std::string_view why) {
  return why == kLoopback || why == kLinkLocal || why == kPrivate;
}

std::string_view Judge(std::string_view why, bool allow_private) {
  if (why.empty() || (allow_private && Relaxable(why))) return {};
  return why;
}

std::string_view ClassifyV4(const ip::address_v4& a) {
  const uint32_t v = a.to_uint();
  for (const V4Block& b : kV4Blocks) {
    const uint32_t mask = b.bits == 0 ? 0 : ~uint32_t{0} << (32 - b.bits);
    if ((v & mask) == b.base) return b.why;
  }
  return {};
}

std::string_view ClassifyV6(const ip::address_v6& a) {
  const ip::address_v6::bytes_type bytes = a.to_bytes();
  if (a.is_v4_mapped()) {
    return ClassifyV4(ip::make_address_v4(ip::v4_mapped, a));
  }
  // NAT64 (RFC 6052 well-known prefix 64:ff9b::/96) reaches the IPv4
  // address in the last 32 bits.
  static constexpr std::array<uint8_t, 12> kNat64 = {0x00, 0x64, 0xff, 0x9b};
  if (std::equal(kNat64.begin(), kNat64.end(), bytes.begin())) {
    return ClassifyV4(ip::address_v4(
        ip::address_v4::bytes_type{bytes[12], bytes[13], bytes[14], bytes[15]}));
  }
  if (a == ip::make_address_v6("fd00:ec2::254")) return kMetadata;
  if (a.is_unspecified()) return kUnspecified;
  if (a.is_loopback()) return kLoopback;
  if (a.is_link_local()) return kLinkLocal;  // fe80::/10
  if (a.is_multicast()) return kMulticast;
  if ((bytes[0] & 0xfe) == 0xfc) return kPrivate;  // fc00::/7 unique local
  if (a.is_site_local()) return kPrivate;          // fec0::/10, deprecated
  // ::/96 (IPv4-compatible, deprecated), 100::/64 (discard), 2001:db8::/32
  // (documentation).
  bool zero96 = true;
  for (int i = 0; i < 12; ++i) zero96 = zero96 && bytes[i] == 0;
  if (zero96) return kReserved;
  if (bytes[0] == 0x01 && bytes[1] == 0x00 && bytes[2] == 0 && bytes[3] == 0 &&
      bytes[4] == 0 && bytes[5] == 0 && bytes[6] == 0 && bytes[7] == 0) {
    return kReserved;
  }
  if (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d &&
      bytes[3] == 0xb8) {
    return kReserved;
  }
  return {};
}

}  // namespace

std::string_view ForbiddenDestination(std::string_view text,
                                      bool allow_private) {
  boost::system::error_code ec;
  // Zone ids ("fe80::1%eth0") parse; the address part decides.
  ip::address a = ip::make_address(std::string(text), ec);
  if (ec) return "not an IP address";
  return Judge(a.is_v4() ? ClassifyV4(a.to_v4()) : ClassifyV6(a.to_v6()),
               allow_private);
}

}  // namespace keywarden::net
