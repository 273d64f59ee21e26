#ifndef KEYWARDEN_API_KMIP_FIELDS_H_
#define KEYWARDEN_API_KMIP_FIELDS_H_

// Strict reading of a structure's children (internal to api/kmip): each
// field is taken once, type-checked, and Done() fails on anything left over,
// so an ignored field can never change a request's meaning (a Key Wrapping
// Specification silently dropped would return a key unwrapped).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/api/kmip/ttlv.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::kmip::internal {

inline std::string TagText(uint32_t tag) {
  std::string_view name = TagName(tag);
  if (!name.empty()) return std::string(name);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "0x";
  for (int shift = 20; shift >= 0; shift -= 4) out.push_back(kHex[(tag >> shift) & 0xF]);
  return out;
}

class Fields {
 public:
  Fields(const Item& item, std::string_view where)
      : item_(item), where_(where), used_(item.children().size(), false) {}

  absl::Status CheckStructure() const {
    if (item_.type() != ItemType::kStructure) {
      return Invalid(StrCat(where_, " must be a structure"));
    }
    return absl::OkStatus();
  }

  // The field with `tag`, if present once; an error when repeated or of
  // another type.
  absl::StatusOr<const Item*> Optional(Tag tag, ItemType type) {
    const Item* found = nullptr;
    for (size_t i = 0; i < item_.children().size(); ++i) {
      const Item& c = item_.children()[i];
      if (!c.Is(tag)) continue;
      if (found != nullptr) {
        return Invalid(StrCat(TagText(c.tag()), " repeated in ", where_));
      }
      if (c.type() != type) {
        return Invalid(StrCat(TagText(c.tag()), " in ", where_, " must be a ",
                              ItemTypeName(type)));
      }
      found = &c;
      used_[i] = true;
    }
    return found;
  }

  absl::StatusOr<const Item*> Required(Tag tag, ItemType type) {
    KW_ASSIGN_OR_RETURN(const Item* item, Optional(tag, type));
    if (item == nullptr) {
      return KmipError(ResultReason::kMissingData,
                       StrCat(where_, " needs ", TagText(static_cast<uint32_t>(tag))));
    }
    return item;
  }

  absl::StatusOr<std::vector<const Item*>> Repeated(Tag tag, ItemType type) {
    std::vector<const Item*> out;
    for (size_t i = 0; i < item_.children().size(); ++i) {
      const Item& c = item_.children()[i];
      if (!c.Is(tag)) continue;
      if (c.type() != type) {
        return Invalid(StrCat(TagText(c.tag()), " in ", where_, " must be a ",
                              ItemTypeName(type)));
      }
      used_[i] = true;
      out.push_back(&c);
    }
    return out;
  }

  // Every field with `tag`, of any type (for fields with several forms).
  std::vector<const Item*> RepeatedAnyType(Tag tag) {
    std::vector<const Item*> out;
    for (size_t i = 0; i < item_.children().size(); ++i) {
      if (!item_.children()[i].Is(tag)) continue;
      used_[i] = true;
      out.push_back(&item_.children()[i]);
    }
    return out;
  }

  // Every child has been taken.
  absl::Status Done() const {
    for (size_t i = 0; i < used_.size(); ++i) {
      if (!used_[i]) {
        return Invalid(StrCat("unexpected ", TagText(item_.children()[i].tag()),
                              " in ", where_));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status Invalid(std::string_view message) {
    return KmipError(ResultReason::kInvalidField, message);
  }

 private:
  const Item& item_;
  std::string where_;  // owned: callers pass temporaries (TagText)
  std::vector<bool> used_;
};

}  // namespace keywarden::api::kmip::internal

#endif  // KEYWARDEN_API_KMIP_FIELDS_H_
