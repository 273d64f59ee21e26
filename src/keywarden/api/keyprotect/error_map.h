#ifndef KEYWARDEN_API_KEYPROTECT_ERROR_MAP_H_
#define KEYWARDEN_API_KEYPROTECT_ERROR_MAP_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "keywarden/common/errors.h"

namespace keywarden::api::keyprotect {

// What the Key Protect API answers for a domain error: the reason code of
// the error envelope (keyprotect-api.md §17) and the HTTP status. This is
// the protocol's one error map; the core knows neither.
struct WireReason {
  Reason reason;
  std::string_view code;  // e.g. "KEY_DELETED_ERR"; "" for kNone
  int http_status;
};

// The row of `reason`; an out-of-range value maps as Reason::kInternal.
const WireReason& WireReasonOf(Reason reason);

// The `message` of the envelope's reason for a failed `status`: a field
// error (FieldError) in Key Protect's wording, "The field `<name>` must be:
// <requirement>" for a body field, "The param `<name>` must be: ..." for a
// query parameter and "The header `<name>` must be: ..." for a header; a
// refusal of the core (DomainError) as "<catalogue message>: <detail>", or
// the catalogue message alone when there is no detail or the message takes
// none; any other status's own message.
std::string WireMessage(const absl::Status& status);

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_ERROR_MAP_H_
