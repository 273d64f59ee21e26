#include "keywarden/client/key_protect.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/client/errors.h"
#include "keywarden/client/test_server.h"

namespace keywarden::client {
namespace {

SecretBytes Bytes(std::string_view s) {
  return SecretBytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

CreateKeyRequest StandardKey(std::string name, SecretBytes payload) {
  CreateKeyRequest r;
  r.name = std::move(name);
  r.extractable = true;
  r.payload = std::move(payload);
  return r;
}

RegistrationRequest Described(std::string description) {
  RegistrationRequest r;
  r.description = std::move(description);
  return r;
}

// The shared fixture (test_server.h): one real server for the suite, a
// tenant, the administrator and service-id clients and a root key per test.
class KeyProtectClientTest : public testing::TenantTest {};

TEST_F(KeyProtectClientTest, CreateGetAndListAreTyped) {
  EXPECT_FALSE(root_.id.empty());
  EXPECT_EQ(root_.name, "root");
  EXPECT_EQ(root_.state, KeyState::kActive);
  EXPECT_FALSE(root_.extractable);
  EXPECT_EQ(root_.key_version_id, root_.id);  // first version id = key id
  auto got = service_->GetKeyMetadata(root_.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->crn, root_.crn);
  auto keys = service_->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].id, root_.id);
}

TEST_F(KeyProtectClientTest, StandardKeyPayloadComesBackAsSecretBytes) {
  auto key = admin_->CreateKey(StandardKey("std", Bytes("s3cr3t")));
  ASSERT_TRUE(key.ok()) << key.status();
  SecretBytes payload;
  auto got = admin_->GetKey(key->id, &payload);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->extractable);
  EXPECT_TRUE(payload == Bytes("s3cr3t"));
}

TEST_F(KeyProtectClientTest, WrapUnwrapRoundTripWithAad) {
  const SecretBytes dek = Bytes("0123456789abcdef0123456789abcdef");
  auto wrapped = service_->Wrap(root_.id, &dek, {"ns/a", "secret/b"});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(wrapped->key_version_id, root_.key_version_id);
  EXPECT_FALSE(wrapped->generated_plaintext.has_value());
  auto unwrapped =
      service_->Unwrap(root_.id, wrapped->ciphertext, {"ns/a", "secret/b"});
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->plaintext == dek);
  EXPECT_EQ(unwrapped->rewrapped_ciphertext, "");

  auto wrong = service_->Unwrap(root_.id, wrapped->ciphertext, {"ns/a"});
  EXPECT_TRUE(absl::IsInvalidArgument(wrong.status())) << wrong.status();
  EXPECT_EQ(ReasonOf(wrong.status()), "UNPROCESSABLE_CIPHERTEXT_ERR");
}

TEST_F(KeyProtectClientTest, WrapWithoutPlaintextReturnsTheGeneratedDek) {
  auto wrapped = service_->Wrap(root_.id, nullptr);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  ASSERT_TRUE(wrapped->generated_plaintext.has_value());
  EXPECT_EQ(wrapped->generated_plaintext->size(), 32u);
  auto unwrapped = service_->Unwrap(root_.id, wrapped->ciphertext);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->plaintext == *wrapped->generated_plaintext);
}

TEST_F(KeyProtectClientTest, RotationKeepsOldCiphertextsAndRewraps) {
  const SecretBytes dek = Bytes("a data key");
  auto old = service_->Wrap(root_.id, &dek);
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_TRUE(admin_->RotateKey(root_.id).ok());
  auto key = service_->GetKeyMetadata(root_.id);
  ASSERT_TRUE(key.ok());
  EXPECT_NE(key->key_version_id, root_.key_version_id);
  auto versions = service_->ListKeyVersions(root_.id);
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_EQ(versions->size(), 2u);

  auto unwrapped = service_->Unwrap(root_.id, old->ciphertext);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->plaintext == dek);
  EXPECT_EQ(unwrapped->key_version_id, root_.key_version_id);
  EXPECT_EQ(unwrapped->rewrapped_key_version_id, key->key_version_id);
  EXPECT_FALSE(unwrapped->rewrapped_ciphertext.empty());

  auto rewrapped = service_->Rewrap(root_.id, old->ciphertext);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(rewrapped->rewrapped_key_version_id, key->key_version_id);
  auto again = service_->Unwrap(root_.id, rewrapped->ciphertext);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->plaintext == dek);
  EXPECT_EQ(again->key_version_id, key->key_version_id);
}

TEST_F(KeyProtectClientTest, DisabledKeyRefusesWrapUntilEnabled) {
  const SecretBytes dek = Bytes("k");
  ASSERT_TRUE(admin_->DisableKey(root_.id).ok());
  auto refused = service_->Wrap(root_.id, &dek);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_EQ(ReasonOf(refused.status()), "KEY_ACTION_INVALID_STATE_ERR");
  // Enable waits 30 s after the last state change: move the clock.
  ASSERT_TRUE(server_->AdvanceClock(31).ok());
  ASSERT_TRUE(admin_->EnableKey(root_.id).ok());
  EXPECT_TRUE(service_->Wrap(root_.id, &dek).ok());
}

TEST_F(KeyProtectClientTest, ServiceRegistersWhatItProtects) {
  const std::string crn =
      "crn:v1:keywarden:private:containers-kubernetes:local:a/test:cluster-1::";
  auto reg = service_->CreateRegistration(root_.id, crn,
                                          Described("etcd secrets"));
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->resource_crn, crn);
  EXPECT_EQ(reg->key_id, root_.id);
  // A repeated create with the same fields succeeds again.
  ASSERT_TRUE(service_->CreateRegistration(root_.id, crn,
                                           Described("etcd secrets"))
                  .ok());
  auto listed = admin_->ListRegistrations(root_.id);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].resource_crn, crn);
  EXPECT_EQ((*listed)[0].description, "etcd secrets");
  auto all = service_->ListRegistrations();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 1u);
  // Users cannot register; the registration blocks a plain delete.
  EXPECT_TRUE(absl::IsPermissionDenied(
      admin_->CreateRegistration(root_.id, crn).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(admin_->DeleteKey(root_.id)));
  ASSERT_TRUE(service_->DeleteRegistration(root_.id, crn).ok());
  EXPECT_TRUE(admin_->DeleteKey(root_.id).ok());
}

TEST_F(KeyProtectClientTest, DeletedKeyUnwrapsNothing) {
  const SecretBytes dek = Bytes("gone");
  auto wrapped = service_->Wrap(root_.id, &dek);
  ASSERT_TRUE(wrapped.ok());
  ASSERT_TRUE(admin_->DeleteKey(root_.id).ok());
  auto r = service_->Unwrap(root_.id, wrapped->ciphertext);
  EXPECT_FALSE(r.ok());
  auto meta = admin_->GetKeyMetadata(root_.id);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->state, KeyState::kDestroyed);
}

TEST_F(KeyProtectClientTest, ServiceCannotDeleteOrRotate) {
  EXPECT_TRUE(absl::IsPermissionDenied(service_->DeleteKey(root_.id)));
  EXPECT_TRUE(absl::IsPermissionDenied(service_->RotateKey(root_.id)));
}

TEST_F(KeyProtectClientTest, UnknownKeyIsNotFound) {
  auto r = service_->GetKeyMetadata("00000000-0000-4000-8000-000000000000");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

}  // namespace
}  // namespace keywarden::client
