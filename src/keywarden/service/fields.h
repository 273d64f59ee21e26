#ifndef KEYWARDEN_SERVICE_FIELDS_H_
#define KEYWARDEN_SERVICE_FIELDS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

// Helpers for the request fields every manager of the service decodes the
// same way, so their errors read alike. They make structured field errors
// (common/errors.h FieldError); each protocol's error map words them.
namespace keywarden::service {

// A kBadBody field error: the body field `field` is not `requirement`.
absl::Status BadField(std::string_view field, std::string_view requirement);

// A kBadBody field error: the query parameter `param` is not `requirement`.
absl::Status BadParam(std::string_view param, std::string_view requirement);

// The `limit` (1..5000) and `offset` (>= 0) query parameters of a list; a
// BadParam naming the parameter otherwise.
absl::Status CheckPaging(int64_t limit, int64_t offset);

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_FIELDS_H_
