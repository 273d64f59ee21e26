#ifndef KEYWARDEN_API_KEYPROTECT_ERROR_MAP_H_
#define KEYWARDEN_API_KEYPROTECT_ERROR_MAP_H_

#include <string_view>

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

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_ERROR_MAP_H_
