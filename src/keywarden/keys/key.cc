#include "keywarden/keys/key.h"

namespace keywarden::keys {

std::optional<KeyState> KeyStateFromInt(int value) {
  switch (value) {
    case 0:
      return KeyState::kPreActivation;
    case 1:
      return KeyState::kActive;
    case 2:
      return KeyState::kSuspended;
    case 3:
      return KeyState::kDeactivated;
    case 5:
      return KeyState::kDestroyed;
    default:
      return std::nullopt;
  }
}

const KeyVersion* Key::FindVersion(std::string_view version_id) const {
  for (const KeyVersion& v : versions) {
    if (v.id == version_id) return &v;
  }
  return nullptr;
}

}  // namespace keywarden::keys
