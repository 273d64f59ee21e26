#include "keywarden/keys/policy.h"

#include <string_view>
#include <utility>

#include "gtest/gtest.h"

namespace keywarden::keys {
namespace {

TEST(InstancePolicyTypeNameTest, KeyProtectNamesRoundTrip) {
  const std::pair<InstancePolicyType, std::string_view> expected[] = {
      {InstancePolicyType::kDualAuthDelete, "dualAuthDelete"},
      {InstancePolicyType::kRotation, "rotation"},
      {InstancePolicyType::kAllowedNetwork, "allowedNetwork"},
      {InstancePolicyType::kAllowedIp, "allowedIP"},
      {InstancePolicyType::kKeyCreateImportAccess, "keyCreateImportAccess"},
      {InstancePolicyType::kMetrics, "metrics"},
  };
  for (const auto& [type, name] : expected) {
    EXPECT_EQ(InstancePolicyTypeName(type), name);
    EXPECT_EQ(InstancePolicyTypeFromName(name), type);
  }
}

TEST(InstancePolicyTypeNameTest, NamesAreCaseSensitiveAndUnknownsRejected) {
  EXPECT_FALSE(InstancePolicyTypeFromName("allowedIp").has_value());
  EXPECT_FALSE(InstancePolicyTypeFromName("ipWhitelist").has_value());
  EXPECT_FALSE(InstancePolicyTypeFromName("").has_value());
  EXPECT_EQ(InstancePolicyTypeName(static_cast<InstancePolicyType>(42)), "");
}

TEST(AllowedNetworkNameTest, NamesRoundTrip) {
  EXPECT_EQ(AllowedNetworkName(AllowedNetwork::kPublicAndPrivate),
            "public-and-private");
  EXPECT_EQ(AllowedNetworkName(AllowedNetwork::kPrivateOnly), "private-only");
  EXPECT_EQ(AllowedNetworkFromName("public-and-private"),
            AllowedNetwork::kPublicAndPrivate);
  EXPECT_EQ(AllowedNetworkFromName("private-only"),
            AllowedNetwork::kPrivateOnly);
}

TEST(AllowedNetworkNameTest, UnknownNamesAreRejected) {
  EXPECT_FALSE(AllowedNetworkFromName("public").has_value());
  EXPECT_FALSE(AllowedNetworkFromName("Private-Only").has_value());
  EXPECT_EQ(AllowedNetworkName(static_cast<AllowedNetwork>(7)), "");
}

TEST(KeyCreateImportAccessTest, DefaultsAreKeyProtects) {
  KeyCreateImportAccess a;
  EXPECT_TRUE(a.create_root_key);
  EXPECT_TRUE(a.create_standard_key);
  EXPECT_TRUE(a.import_root_key);
  EXPECT_TRUE(a.import_standard_key);
  EXPECT_FALSE(a.enforce_token);
}

}  // namespace
}  // namespace keywarden::keys
