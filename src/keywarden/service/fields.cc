#include "keywarden/service/fields.h"

#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/keys/rules.h"

namespace keywarden::service {

absl::Status BadField(std::string_view field, std::string_view requirement) {
  return FieldError(Reason::kBadBody, {field, FieldKind::kBody}, requirement);
}

absl::Status BadParam(std::string_view param, std::string_view requirement) {
  return FieldError(Reason::kBadBody, {param, FieldKind::kQuery}, requirement);
}

absl::Status CheckPaging(int64_t limit, int64_t offset) {
  if (limit < 1 || limit > keys::kMaxListLimit) {
    return BadParam("limit",
                    StrCat("an integer from 1 to ", keys::kMaxListLimit));
  }
  if (offset < 0) return BadParam("offset", "a non-negative integer");
  return absl::OkStatus();
}

}  // namespace keywarden::service
