#include "keywarden/keys/rules.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"

namespace keywarden::keys {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

Key ActiveKey() {
  Key k;
  k.state = KeyState::kActive;
  k.creation_time = kT0;
  k.last_state_change_time = kT0;
  k.last_update_time = kT0;
  return k;
}

// keyprotect-api.md §5, the action × state table, row by row.
TEST(RulesTest, StateTableMatchesKeyProtect) {
  struct Row {
    Action action;
    bool active, suspended, deactivated, destroyed;
  };
  const Row rows[] = {
      {Action::kRead, true, true, true, true},
      {Action::kRotate, true, false, true, false},
      {Action::kWrap, true, false, false, false},
      {Action::kUnwrap, true, false, true, false},
      {Action::kRewrap, true, false, true, false},
      {Action::kDisable, true, false, false, false},
      {Action::kEnable, false, true, false, false},
      {Action::kDelete, true, true, true, false},
      {Action::kRestore, false, false, false, true},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(CheckStateAllows(r.action, KeyState::kActive).ok(), r.active);
    EXPECT_EQ(CheckStateAllows(r.action, KeyState::kSuspended).ok(),
              r.suspended);
    EXPECT_EQ(CheckStateAllows(r.action, KeyState::kDeactivated).ok(),
              r.deactivated);
    EXPECT_EQ(CheckStateAllows(r.action, KeyState::kDestroyed).ok(),
              r.destroyed);
  }
}

TEST(RulesTest, DeletingADestroyedKeyIsGone) {
  EXPECT_EQ(ReasonOf(CheckStateAllows(Action::kDelete, KeyState::kDestroyed)),
            Reason::kKeyDeleted);
  EXPECT_EQ(ReasonOf(CheckStateAllows(Action::kWrap, KeyState::kSuspended)),
            Reason::kKeyActionInvalidState);
}

TEST(RulesTest, ExpiryDeactivatesActiveAndSuspendedOnly) {
  Key k = ActiveKey();
  k.expiration_time = kT0 + absl::Hours(1);
  EXPECT_EQ(EffectiveState(k, kT0), KeyState::kActive);
  EXPECT_EQ(EffectiveState(k, kT0 + absl::Hours(1)), KeyState::kDeactivated);
  k.state = KeyState::kSuspended;
  EXPECT_EQ(EffectiveState(k, kT0 + absl::Hours(2)), KeyState::kDeactivated);
  k.state = KeyState::kDestroyed;
  EXPECT_EQ(EffectiveState(k, kT0 + absl::Hours(2)), KeyState::kDestroyed);
}

TEST(RulesTest, NameLimits) {
  EXPECT_FALSE(ValidateName("a").ok());
  EXPECT_TRUE(ValidateName("ab").ok());
  EXPECT_TRUE(ValidateName(std::string(90, 'x')).ok());
  EXPECT_FALSE(ValidateName(std::string(91, 'x')).ok());
  EXPECT_FALSE(ValidateName("bad\nname").ok());
  EXPECT_EQ(FieldOf(ValidateName("a")), "name");
}

TEST(RulesTest, DescriptionLimits) {
  EXPECT_FALSE(ValidateDescription("a").ok());
  EXPECT_TRUE(ValidateDescription(std::string(240, 'x')).ok());
  EXPECT_FALSE(ValidateDescription(std::string(241, 'x')).ok());
}

TEST(RulesTest, TagLimits) {
  EXPECT_TRUE(ValidateTags(std::vector<std::string>(30, "t")).ok());
  EXPECT_FALSE(ValidateTags(std::vector<std::string>(31, "t")).ok());
  EXPECT_TRUE(ValidateTags(std::vector<std::string>{std::string(30, 'x')}).ok());
  EXPECT_FALSE(
      ValidateTags(std::vector<std::string>{std::string(31, 'x')}).ok());
  for (std::string bad : {"a<b", "a>b", "a,b", "a:b", "a&b", "a|b"}) {
    EXPECT_FALSE(ValidateTags(std::vector<std::string>{bad}).ok()) << bad;
  }
}

TEST(RulesTest, RootKeySizes) {
  EXPECT_TRUE(IsValidRootKeySize(16));
  EXPECT_TRUE(IsValidRootKeySize(24));
  EXPECT_TRUE(IsValidRootKeySize(32));
  EXPECT_FALSE(IsValidRootKeySize(31));
  EXPECT_FALSE(IsValidRootKeySize(64));
}

TEST(RulesTest, CooldownRunsFromLastStateChange) {
  Timers t;
  Key k = ActiveKey();
  EXPECT_EQ(ReasonOf(CheckStateChangeCooldown(k, kT0 + absl::Seconds(29), t)),
            Reason::kRequestTooEarly);
  EXPECT_TRUE(CheckStateChangeCooldown(k, kT0 + absl::Seconds(30), t).ok());
}

TEST(RulesTest, FirstRotationIsImmediateThenHourly) {
  Timers t;
  Key k = ActiveKey();
  EXPECT_TRUE(CheckRotationAllowed(k, kT0, t).ok());
  k.last_rotate_time = kT0;
  EXPECT_EQ(ReasonOf(CheckRotationAllowed(k, kT0 + absl::Minutes(59), t)),
            Reason::kKeyRotationNotPermitted);
  EXPECT_TRUE(CheckRotationAllowed(k, kT0 + absl::Hours(1), t).ok());
}

TEST(RulesTest, RestoreWindow) {
  Timers t;
  Key k = ActiveKey();
  k.state = KeyState::kDestroyed;
  k.deletion_time = kT0;
  EXPECT_EQ(ReasonOf(CheckRestoreAllowed(k, kT0 + absl::Seconds(10), t)),
            Reason::kRequestTooEarly);
  EXPECT_TRUE(CheckRestoreAllowed(k, kT0 + absl::Seconds(31), t).ok());
  EXPECT_TRUE(CheckRestoreAllowed(k, kT0 + absl::Hours(24 * 30), t).ok());
  EXPECT_EQ(ReasonOf(CheckRestoreAllowed(
                k, kT0 + absl::Hours(24 * 30) + absl::Seconds(1), t)),
            Reason::kKeyRestoreExpired);
  k.expiration_time = kT0 + absl::Seconds(20);
  EXPECT_EQ(ReasonOf(CheckRestoreAllowed(k, kT0 + absl::Seconds(31), t)),
            Reason::kKeyExpired);
}

}  // namespace
}  // namespace keywarden::keys
