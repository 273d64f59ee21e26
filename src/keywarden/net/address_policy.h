#ifndef KEYWARDEN_NET_ADDRESS_POLICY_H_
#define KEYWARDEN_NET_ADDRESS_POLICY_H_

#include <string_view>

namespace keywarden::net {

// Why the server must not connect to `ip` on someone else's behalf (a
// webhook URL is chosen by an administrator, but the request is the
// server's, made from inside its network), or "" if it may. The answers:
//   "cloud metadata"  169.254.169.254, fd00:ec2::254, 168.63.129.16,
//                     100.100.100.200, 169.254.170.2: refused always, since
//                     they hand out the host's cloud credentials;
//   "loopback", "link-local", "private" (RFC 1918, RFC 6598 shared, RFC 4193
//                     unique-local, benchmarking): refused unless
//                     `allow_private` (a closed network);
//   "unspecified", "multicast", "reserved" (documentation, 240/4, …): always.
// IPv4-mapped and NAT64 (64:ff9b::/96) IPv6 addresses are judged by the
// IPv4 address inside. Anything that is not an IP literal is "not an IP
// address". Pure function; thread-safe.
std::string_view ForbiddenDestination(std::string_view ip, bool allow_private);

}  // namespace keywarden::net

#endif  // KEYWARDEN_NET_ADDRESS_POLICY_H_
