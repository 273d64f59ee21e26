#include "keywarden/integrations/clevis/clevis_pin.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/client/test_server.h"

namespace keywarden::integrations::clevis {
namespace {


constexpr char kConfig[] =
    R"({"url":"http://127.0.0.1:1","instance":"i","key":"k",)"
    R"("apikey_file":"/etc/keywarden/apikey","cacert":"/etc/ca.pem",)"
    R"("crn":"crn:v1:keywarden:private:databases-for-postgresql:local:a/x:pg1::"})";
// A JWK as `jose jwk gen -i '{"alg":"A256GCM"}'` writes it.
constexpr char kJwk[] =
    R"({"alg":"A256GCM","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",)"
    R"("key_ops":["encrypt","decrypt"],"kty":"oct"})";

SecretBytes Counting() {
  SecretBytes b(kCekBytes);
  for (size_t i = 0; i < b.size(); ++i) b.data()[i] = static_cast<uint8_t>(i);
  return b;
}

TEST(ParsePinConfigTest, ReadsEveryMember) {
  auto c = ParsePinConfig(kConfig);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->url, "http://127.0.0.1:1");
  EXPECT_EQ(c->instance, "i");
  EXPECT_EQ(c->key, "k");
  EXPECT_EQ(c->apikey_file, "/etc/keywarden/apikey");
  EXPECT_EQ(c->cacert, "/etc/ca.pem");
  EXPECT_EQ(c->crn,
            "crn:v1:keywarden:private:databases-for-postgresql:local:a/x:pg1::");
  auto minimal = ParsePinConfig(R"({"url":"u","instance":"i","key":"k"})");
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_EQ(minimal->apikey_file, "");
}

TEST(ParsePinConfigTest, RefusesWhatItCannotUseWithAClearMessage) {
  struct Case {
    const char* json;
    const char* says;
  } cases[] = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"url":"u","instance":"i")", "not a JSON object"},
      {R"({"instance":"i","key":"k"})", "no \"url\""},
      {R"({"url":"u","key":"k"})", "no \"instance\""},
      {R"({"url":"u","instance":"i"})", "no \"key\""},
      {R"({"url":"u","instance":"i","key":""})", "\"key\" must be a string"},
      {R"({"url":"u","instance":"i","key":7})", "\"key\" must be a string"},
      {R"({"url":"u","instance":"i","key":"k","apikey-file":"/f"})",
       "unknown member \"apikey-file\""},
      {R"({"url":"u","instance":"i","key":"k","apikey_file":"f"})",
       "absolute path"},
      {R"({"url":"u","instance":"i","key":"k","cacert":"ca.pem"})",
       "absolute path"},
  };
  for (const Case& c : cases) {
    auto r = ParsePinConfig(c.json);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << c.json;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.json << " -> " << r.status();
  }
  EXPECT_FALSE(ParsePinConfig(std::string(kMaxInputBytes + 1, ' ')).ok());
}

TEST(PinHeaderTest, FormatThenParseIsTheIdentity) {
  PinHeader h{"https://kw:8443", "inst", "key-id", "ver-id", "d2Rlaw==",
              "/etc/keywarden/apikey", "/etc/ca.pem", "crn:v1:a"};
  auto back = ParsePinHeader(FormatPinHeader(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(FormatPinHeader(*back), FormatPinHeader(h));
  EXPECT_EQ(back->wdek, "d2Rlaw==");
  EXPECT_EQ(back->key_version, "ver-id");
  // Empty members are left out, and not required back.
  PinHeader minimal{"u", "i", "k", "", "w", "", "", ""};
  EXPECT_EQ(FormatPinHeader(minimal),
            R"({"url":"u","instance":"i","key":"k","wdek":"w"})");
  EXPECT_TRUE(ParsePinHeader(FormatPinHeader(minimal)).ok());
}

TEST(PinHeaderTest, RefusesAHeaderWithoutWdekOrWithStrangers) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParsePinHeader(R"({"url":"u","instance":"i","key":"k"})").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParsePinHeader(R"({"url":"u","instance":"i","key":"k","wdek":"w",)"
                     R"("apikey":"secret"})")
          .status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParsePinHeader("null").status()));
}

TEST(JwkTest, CekOfJwkReadsJoseOutputAndJwkOfCekWritesItBack) {
  auto cek = CekOfJwk(kJwk);
  ASSERT_TRUE(cek.ok()) << cek.status();
  EXPECT_TRUE(*cek == Counting());
  std::string jwk = JwkOfCek(*cek);
  EXPECT_EQ(jwk,
            R"({"alg":"A256GCM","k":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",)"
            R"("kty":"oct"})");
  auto again = CekOfJwk(jwk);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == *cek);
}

TEST(JwkTest, RefusesAnythingButA32ByteOctKeyAndEchoesNone) {
  const std::string k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  for (const std::string& bad : std::vector<std::string>{
           "", "{}", "[1]",
           R"({"kty":"oct"})",
           R"({"kty":"EC","k":")" + k + "\"}",
           R"({"kty":"oct","alg":"A128GCM","k":")" + k + "\"}",
           R"({"kty":"oct","k":")" + k.substr(0, 42) + "\"}",       // 31 bytes
           R"({"kty":"oct","k":")" + k + "AAA\"}",                  // 34 bytes
           R"({"kty":"oct","k":")" + k.substr(0, 40) + "!!!\"}",    // not base64url
           R"({"kty":"oct","k":7})",
           R"({"kty":"oct","k":")" + k + "\"",                      // truncated
           R"({"kty":"oct","k":")" + k + R"(","x":")" +
               std::string(kMaxInputBytes, 'a') + "\"}",            // too large
       }) {
    auto r = CekOfJwk(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad.substr(0, 80);
    EXPECT_EQ(r.status().message().find(k.substr(0, 8)), std::string::npos);
  }
}

// Wrap and unwrap against the real server (the shared fixture of
// client/test_server.h), as a databases-for-postgresql service id authorized
// Reader on its instance; key_ is the root key, kp_ the service id's client.
class ClevisPinServerTest : public client::testing::TenantTest {
 protected:
  std::string ServiceType() const override {
    return "databases-for-postgresql";
  }

  void SetUp() override {
    TenantTest::SetUp();
    config_.url = server_->url();
    config_.instance = tenant_.instance;
    config_.key = key_.id;
  }

  const client::Key& key_ = root_;
  std::unique_ptr<client::KeyProtectClient>& kp_ = service_;
  PinConfig config_;
};

TEST_F(ClevisPinServerTest, WrapThenUnwrapGivesTheCekBack) {
  auto h = WrapCek(*kp_, config_, Counting());
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->key, key_.id);
  EXPECT_EQ(h->key_version, key_.key_version_id);
  EXPECT_FALSE(h->wdek.empty());
  auto cek = UnwrapCek(*kp_, *h);
  ASSERT_TRUE(cek.ok()) << cek.status();
  EXPECT_TRUE(*cek == Counting());
}

TEST_F(ClevisPinServerTest, WrapRegistersTheConfiguredResource) {
  config_.crn =
      "crn:v1:keywarden:private:databases-for-postgresql:local:a/x:pg1::";
  ASSERT_TRUE(WrapCek(*kp_, config_, Counting()).ok());
  ASSERT_TRUE(WrapCek(*kp_, config_, Counting()).ok()) << "a second bind";
  // A bind after a rotation: the registration exists, under the old version.
  ASSERT_TRUE(server_->AdvanceClock(3601).ok());  // an hour between rotations
  ASSERT_TRUE(admin_->RotateKey(key_.id).ok());
  auto rebound = WrapCek(*kp_, config_, Counting());
  ASSERT_TRUE(rebound.ok()) << rebound.status();
  EXPECT_NE(rebound->key_version, key_.key_version_id);
  auto regs = kp_->ListRegistrations(key_.id);
  ASSERT_TRUE(regs.ok()) << regs.status();
  ASSERT_EQ(regs->size(), 1u);
  EXPECT_EQ((*regs)[0].resource_crn, config_.crn);
}

TEST_F(ClevisPinServerTest, AWdekOfAnotherPurposeDoesNotUnwrap) {
  // The same root key, wrapped without the pin's aad (as another
  // integration or a user would).
  auto other = kp_->Wrap(key_.id, nullptr);
  ASSERT_TRUE(other.ok()) << other.status();
  PinHeader h{config_.url, config_.instance, key_.id, "", other->ciphertext,
              "", "", ""};
  EXPECT_FALSE(UnwrapCek(*kp_, h).ok());
}

TEST_F(ClevisPinServerTest, UnwrapIsRefusedWhileTheKeyIsDisabled) {
  auto h = WrapCek(*kp_, config_, Counting());
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(admin_->DisableKey(key_.id).ok());
  auto refused = UnwrapCek(*kp_, *h);
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(WrapCek(*kp_, config_, Counting()).ok());
  ASSERT_TRUE(server_->AdvanceClock(31).ok());  // enable waits 30 s
  ASSERT_TRUE(admin_->EnableKey(key_.id).ok());
  auto cek = UnwrapCek(*kp_, *h);
  ASSERT_TRUE(cek.ok()) << cek.status();
  EXPECT_TRUE(*cek == Counting());
}

}  // namespace
}  // namespace keywarden::integrations::clevis
