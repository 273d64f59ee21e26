#ifndef KEYWARDEN_SERVICE_REQUEST_CONTEXT_H_
#define KEYWARDEN_SERVICE_REQUEST_CONTEXT_H_

#include <optional>
#include <string>

#include "keywarden/iam/principal.h"

namespace keywarden::service {

// What every operation knows about the call besides its typed arguments.
// Built by a transport after authentication; immutable afterwards.
struct RequestContext {
  iam::Principal principal;
  std::string instance_id;     // lower-case UUID from Bluemix-Instance
  std::string correlation_id;  // echoed to the client and written to logs
  std::optional<std::string> key_ring_id;  // X-Kms-Key-Ring, if sent
  std::string source_address;  // the peer's IP, for audit and throttling
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_REQUEST_CONTEXT_H_
