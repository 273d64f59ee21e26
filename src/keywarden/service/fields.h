#ifndef KEYWARDEN_SERVICE_FIELDS_H_
#define KEYWARDEN_SERVICE_FIELDS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

// Helpers for the request fields every manager of the service decodes the
// same way, so their errors read alike.
namespace keywarden::service {

// BAD_BODY_ERR "The field `<field>` must be: <must_be>" targeting `field`.
absl::Status BadField(std::string_view field, std::string_view must_be);

// The `limit` (1..5000) and `offset` (>= 0) of a list; BAD_BODY_ERR naming
// the param otherwise.
absl::Status CheckPaging(int64_t limit, int64_t offset);

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_FIELDS_H_
