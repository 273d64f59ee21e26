// The stable codes of iam/identity.h as the store writes them
// (storage-schema.md §2). The codes are iam's; the store depends on them
// never changing, so they are frozen here, beside the schema that stores
// them.

#include <string>

#include "gtest/gtest.h"
#include "keywarden/iam/identity.h"

namespace keywarden::iam {
namespace {

TEST(IdentityCodesTest, PrincipalKindCodesAreFrozen) {
  EXPECT_EQ(PrincipalKindCode(PrincipalKind::kUser), "user");
  EXPECT_EQ(PrincipalKindCode(PrincipalKind::kServiceId), "service_id");
  EXPECT_EQ(PrincipalKindFromCode("user"), PrincipalKind::kUser);
  EXPECT_EQ(PrincipalKindFromCode("service_id"), PrincipalKind::kServiceId);
  for (const char* bad : {"", "User", "serviceid", "service_id ", "admin"}) {
    EXPECT_FALSE(PrincipalKindFromCode(bad).has_value()) << bad;
  }
  EXPECT_EQ(PrincipalKindCode(static_cast<PrincipalKind>(9)), "");
}

TEST(IdentityCodesTest, RoleNamesAreFrozenAndRoundTrip) {
  const std::pair<Role, std::string> kRoles[] = {
      {Role::kReader, "Reader"},
      {Role::kReaderPlus, "ReaderPlus"},
      {Role::kWriter, "Writer"},
      {Role::kManager, "Manager"},
      {Role::kKeyPurge, "KeyPurge"},
      {Role::kKmipAdapterManager, "KmipAdapterManager"},
  };
  for (const auto& [role, name] : kRoles) {
    EXPECT_EQ(RoleName(role), name);
    EXPECT_EQ(RoleFromName(name), role) << name;
  }
  for (const char* bad : {"", "reader", "READER", "Reader,Writer", "Admin"}) {
    EXPECT_FALSE(RoleFromName(bad).has_value()) << bad;
  }
  EXPECT_EQ(RoleName(static_cast<Role>(42)), "");
}

}  // namespace
}  // namespace keywarden::iam
