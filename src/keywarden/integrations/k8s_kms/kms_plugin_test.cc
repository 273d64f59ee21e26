#include "keywarden/integrations/k8s_kms/kms_plugin.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/client/errors.h"
#include "keywarden/client/test_server.h"

namespace keywarden::integrations::k8s_kms {
namespace {

SecretBytes Bytes(std::string_view s) {
  return SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(ValidateAnnotationsTest, KeysAreFullyQualifiedDomainNames) {
  EXPECT_TRUE(ValidateAnnotations({}).ok());
  EXPECT_TRUE(ValidateAnnotations({{"format.kms.keywarden.dev", "x"}}).ok());
  EXPECT_TRUE(ValidateAnnotations({{"a-1.b", ""}}).ok());
  for (const char* bad : {"", "nodots", "Upper.case", "-a.b", "a-.b", "a..b",
                          "a.b.", ".a.b", "a_b.c", "a b.c"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateAnnotations({{bad, "v"}})))
        << bad;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(
      ValidateAnnotations({{std::string(64, 'a') + ".b", "v"}})));
}

TEST(ValidateAnnotationsTest, TotalSizeIsUnder32Kilobytes) {
  EXPECT_TRUE(ValidateAnnotations({{"a.b", std::string(32 * 1024 - 4, 'v')}}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(
      ValidateAnnotations({{"a.b", std::string(32 * 1024 - 3, 'v')}})));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateAnnotations(
      {{"a.b", std::string(20000, 'v')}, {"c.d", std::string(20000, 'v')}})));
}

// The plugin's logic against the real server (the shared fixture of
// client/test_server.h: a tenant, its clients and a root key per test), with
// a fake clock for the Status cache.
class KmsPluginTest : public client::testing::TenantTest {
 protected:
  void SetUp() override {
    TenantTest::SetUp();
    if (HasFatalFailure()) return;
    PluginOptions o;
    o.key_id = root_.id;
    o.resource_crn =
        "crn:v1:keywarden:private:containers-kubernetes:local:a/x:c1::";
    plugin_ = std::make_unique<KmsPlugin>(*service_, o, clock_);
  }

  FakeClock clock_;
  std::unique_ptr<KmsPlugin> plugin_;
};

TEST_F(KmsPluginTest, EncryptDecryptRoundTrip) {
  const SecretBytes seed = Bytes("0123456789abcdef0123456789abcdef");
  auto e = plugin_->Encrypt(seed);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->key_id, KeyIdOf(root_.id, root_.key_version_id));
  EXPECT_LE(e->ciphertext.size(), kMaxCiphertextBytes);
  EXPECT_TRUE(ValidateAnnotations(e->annotations).ok());
  auto d = plugin_->Decrypt(e->ciphertext, e->key_id, e->annotations);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(*d == seed);
}

TEST_F(KmsPluginTest, StatusProbeIsCachedForItsTime) {
  StatusAnswer s = plugin_->Status();
  EXPECT_EQ(s.healthz, "ok");
  EXPECT_EQ(s.key_id, KeyIdOf(root_.id, root_.key_version_id));
  EXPECT_TRUE(plugin_->registered());
  ASSERT_TRUE(admin_->DisableKey(root_.id).ok());
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(plugin_->Status().healthz, "ok");  // the cached probe
  clock_.Advance(absl::Seconds(1));
  s = plugin_->Status();
  EXPECT_NE(s.healthz, "ok");
  EXPECT_NE(s.healthz.find("KEY_ACTION_INVALID_STATE_ERR"), std::string::npos)
      << s.healthz;
}

TEST_F(KmsPluginTest, BadInputsAreInvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(plugin_->Encrypt(SecretBytes()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      plugin_->Encrypt(SecretBytes(kMaxPlaintextBytes + 1)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(plugin_->Decrypt("", "k", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      plugin_->Decrypt(std::string(1025, 'x'), "k", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      plugin_->Decrypt("garbage", std::string(1025, 'k'), {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      plugin_->Decrypt("garbage", "k", {}).status()));
  auto e = plugin_->Encrypt(Bytes("seed"));
  ASSERT_TRUE(e.ok());
  std::string flipped = e->ciphertext;
  flipped[flipped.size() / 2] ^= 1;
  auto d = plugin_->Decrypt(flipped, e->key_id, e->annotations);
  EXPECT_TRUE(absl::IsInvalidArgument(d.status())) << d.status();
  EXPECT_TRUE(absl::IsInvalidArgument(
      plugin_->Decrypt(e->ciphertext, e->key_id,
                       {{std::string(kFormatAnnotation), "wdek-9"}})
          .status()));
}

TEST_F(KmsPluginTest, AKeyInTheWrongStateIsNamedInTheError) {
  ASSERT_TRUE(admin_->DisableKey(root_.id).ok());
  auto e = plugin_->Encrypt(Bytes("seed"));
  EXPECT_TRUE(absl::IsFailedPrecondition(e.status())) << e.status();
  EXPECT_NE(e.status().message().find("is disabled: enable it"),
            std::string_view::npos)
      << e.status();
  // The server's reason stays, for callers that act on it.
  EXPECT_EQ(client::ReasonOf(e.status()), "KEY_ACTION_INVALID_STATE_ERR");
  clock_.Advance(absl::Seconds(5));
  EXPECT_NE(plugin_->Status().healthz.find("is disabled"), std::string::npos);
}

}  // namespace
}  // namespace keywarden::integrations::k8s_kms
