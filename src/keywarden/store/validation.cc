#include "keywarden/store/validation.h"

#include <set>
#include <string_view>

namespace keywarden::store {

namespace {

bool IsKnownState(keys::KeyState state) {
  return keys::KeyStateFromInt(static_cast<int>(state)).has_value();
}

}  // namespace

absl::Status ValidateKeyForWrite(const keys::Key& key) {
  if (key.instance_id.empty()) {
    return absl::InvalidArgumentError("key has no instance id");
  }
  if (key.id.empty()) return absl::InvalidArgumentError("key has no id");
  if (!IsKnownState(key.state)) {
    return absl::InvalidArgumentError("key has an unknown state");
  }
  if (key.versions.empty()) {
    return absl::InvalidArgumentError("key has no versions");
  }
  std::set<std::string_view> seen;
  for (const keys::KeyVersion& v : key.versions) {
    if (v.id.empty()) {
      return absl::InvalidArgumentError("key version has no id");
    }
    if (!seen.insert(v.id).second) {
      return absl::InvalidArgumentError("key has a duplicate version id");
    }
  }
  std::set<std::string_view> aliases;
  for (const std::string& a : key.aliases) {
    if (a.empty()) return absl::InvalidArgumentError("key has an empty alias");
    if (!aliases.insert(a).second) {
      return absl::InvalidArgumentError("key has a duplicate alias");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyRing(const KeyRing& ring) {
  if (ring.instance_id.empty()) {
    return absl::InvalidArgumentError("key ring has no instance id");
  }
  if (ring.id.empty()) return absl::InvalidArgumentError("key ring has no id");
  if (ring.id == "default") {
    return absl::InvalidArgumentError("key ring `default` is never stored");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyAlias(const KeyAlias& alias) {
  if (alias.instance_id.empty() || alias.key_id.empty() ||
      alias.alias.empty()) {
    return absl::InvalidArgumentError(
        "key alias needs an instance id, a key id and an alias");
  }
  return absl::OkStatus();
}

absl::Status ValidateQuery(const KeyQuery& query) {
  if (query.instance_id.empty()) {
    return absl::InvalidArgumentError("query has no instance id");
  }
  if (query.limit < 0 || query.offset < 0) {
    return absl::InvalidArgumentError("query limit and offset must be >= 0");
  }
  for (keys::KeyState s : query.states) {
    if (!IsKnownState(s)) {
      return absl::InvalidArgumentError("query has an unknown state");
    }
  }
  return absl::OkStatus();
}

}  // namespace keywarden::store
