#include "keywarden/service/fields.h"

#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/keys/rules.h"

namespace keywarden::service {

absl::Status BadField(std::string_view field, std::string_view must_be) {
  return Error(Reason::kBadBody,
               StrCat("The field `", field, "` must be: ", must_be), field);
}

absl::Status CheckPaging(int64_t limit, int64_t offset) {
  if (limit < 1 || limit > keys::kMaxListLimit) {
    return Error(Reason::kBadBody,
                 StrCat("The param `limit` must be: an integer from 1 to ",
                        keys::kMaxListLimit),
                 "limit");
  }
  if (offset < 0) {
    return Error(Reason::kBadBody,
                 "The param `offset` must be: a non-negative integer",
                 "offset");
  }
  return absl::OkStatus();
}

}  // namespace keywarden::service
