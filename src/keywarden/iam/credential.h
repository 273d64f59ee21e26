#ifndef KEYWARDEN_IAM_CREDENTIAL_H_
#define KEYWARDEN_IAM_CREDENTIAL_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

namespace keywarden::iam {

// What a transport presents to authenticate a request, in the transport's
// own terms but without its syntax: the Key Protect API's bearer token
// (taken out of the Authorization header by the transport), a TLS client
// certificate (KMIP), or the peer of a Unix socket. Views: valid for the
// duration of the call only.
struct BearerToken {
  std::string_view token;  // without the "Bearer " scheme
};

struct ClientCertificate {
  std::span<const uint8_t> der;
  std::array<uint8_t, 32> sha256{};  // of `der`
};

struct UnixPeer {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
};

// std::monostate: the request presented nothing.
using Credential =
    std::variant<std::monostate, BearerToken, ClientCertificate, UnixPeer>;

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_CREDENTIAL_H_
