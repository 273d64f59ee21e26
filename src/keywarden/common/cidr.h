#ifndef KEYWARDEN_COMMON_CIDR_H_
#define KEYWARDEN_COMMON_CIDR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace keywarden {

// An IPv4 or IPv6 address in network byte order. IPv4 is held as its
// IPv4-mapped IPv6 form (::ffff:a.b.c.d) so one comparison covers both and
// a v4 client seen on a dual-stack socket matches a v4 CIDR.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;
};

// Parses a dotted-quad IPv4 or an RFC 4291 IPv6 literal (without brackets
// or zone id). An IPv4-mapped IPv6 literal counts as IPv4.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// A block of addresses: "10.0.0.0/8", "2001:db8::/32", or a bare address
// (a /32 or /128). Host bits below the prefix must be zero, so each block
// has one spelling.
class Cidr {
 public:
  // InvalidArgument naming the problem for anything else.
  static absl::StatusOr<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& address) const;
  // Canonical text: the address as inet_ntop prints it, "/", the prefix.
  std::string ToString() const;

 private:
  IpAddress base_;
  int prefix_bits_ = 0;  // within the 128-bit (mapped) form
};

// True if `address` is in any of `blocks`.
bool AnyContains(std::span<const Cidr> blocks, const IpAddress& address);

// The blocks Keywarden counts as private networks by default: loopback,
// RFC 1918, RFC 6598 shared space, link-local, IPv6 ULA and loopback.
std::span<const std::string_view> DefaultPrivateNetworks();

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_CIDR_H_
