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

CreateKeyRequest RootKey(std::string name) {
  CreateKeyRequest r;
  r.name = std::move(name);
  return r;
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

TEST_F(KeyProtectClientTest, ForcedDeleteDropsRegistrationsAndRestoreRevives) {
  const std::string crn =
      "crn:v1:keywarden:private:containers-kubernetes:local:a/test:c-2::";
  ASSERT_TRUE(service_->CreateRegistration(root_.id, crn).ok());
  EXPECT_EQ(ReasonOf(admin_->DeleteKey(root_.id)), "PROTECTED_RESOURCE_ERR");
  ASSERT_TRUE(admin_->DeleteKey(root_.id, /*force=*/true).ok());
  EXPECT_EQ(ReasonOf(admin_->DeleteKey(root_.id)), "KEY_DELETED_ERR");
  // Restore waits 30 s after the deletion.
  EXPECT_EQ(ReasonOf(admin_->RestoreKey(root_.id).status()),
            "REQ_TOO_EARLY_ERR");
  ASSERT_TRUE(server_->AdvanceClock(31).ok());
  auto restored = admin_->RestoreKey(root_.id);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->id, root_.id);
  EXPECT_EQ(restored->state, KeyState::kActive);
  const SecretBytes dek = Bytes("back");
  EXPECT_TRUE(service_->Wrap(root_.id, &dek).ok());
}

TEST_F(KeyProtectClientTest, RegistrationUpdateMergesAndReplaceOverwrites) {
  const std::string crn =
      "crn:v1:keywarden:private:containers-kubernetes:local:a/test:c-3::";
  RegistrationRequest first;
  first.description = "first";
  first.prevent_key_deletion = true;
  ASSERT_TRUE(service_->CreateRegistration(root_.id, crn, first).ok());
  RegistrationUpdate update;
  update.description = "merged";
  auto merged = service_->UpdateRegistration(root_.id, crn, update);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->description, "merged");
  EXPECT_TRUE(merged->prevent_key_deletion);  // not in the update: kept
  auto replaced =
      service_->ReplaceRegistration(root_.id, crn, Described("replaced"));
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->description, "replaced");
  EXPECT_FALSE(replaced->prevent_key_deletion);

  ListRegistrationsOptions query;
  query.crn_query =
      "crn:v1:keywarden:private:containers-kubernetes:local:a/test:c-3:*:*";
  auto found = admin_->ListRegistrations(query);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].resource_crn, crn);
  query.crn_query =
      "crn:v1:keywarden:private:containers-kubernetes:local:a/test:other:*:*";
  auto none = admin_->ListRegistrations(query);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_F(KeyProtectClientTest, KeyRingsHoldKeysUntilTheyMoveOut) {
  ASSERT_TRUE(admin_->CreateKeyRing("ring-a").ok());
  EXPECT_EQ(ReasonOf(admin_->CreateKeyRing("ring-a")), "CONFLICT_ERR");
  auto rings = admin_->ListKeyRings();
  ASSERT_TRUE(rings.ok()) << rings.status();
  ASSERT_EQ(rings->size(), 2u);
  EXPECT_EQ((*rings)[0].id, "default");
  EXPECT_EQ((*rings)[1].id, "ring-a");
  EXPECT_FALSE((*rings)[1].creation_date.empty());

  CreateKeyRequest in_ring = RootKey("ringed");
  in_ring.key_ring_id = "ring-a";
  auto key = admin_->CreateKey(in_ring);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->key_ring_id, "ring-a");
  EXPECT_EQ(ReasonOf(admin_->DeleteKeyRing("ring-a")), "CONFLICT_ERR");
  auto moved = admin_->MoveKeyToRing(key->id, "default");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->key_ring_id, "default");
  ASSERT_TRUE(admin_->DeleteKeyRing("ring-a").ok());
  EXPECT_TRUE(absl::IsNotFound(admin_->DeleteKeyRing("ring-a")));
  EXPECT_EQ(ReasonOf(admin_->DeleteKeyRing("default")), "CONFLICT_ERR");
}

TEST_F(KeyProtectClientTest, AnAliasNamesItsKeyUntilDeleted) {
  auto alias = admin_->CreateKeyAlias(root_.id, "etcd-root");
  ASSERT_TRUE(alias.ok()) << alias.status();
  EXPECT_EQ(alias->key_id, root_.id);
  EXPECT_EQ(alias->alias, "etcd-root");
  auto by_alias = service_->GetKeyMetadata("etcd-root");
  ASSERT_TRUE(by_alias.ok()) << by_alias.status();
  EXPECT_EQ(by_alias->id, root_.id);
  EXPECT_EQ(by_alias->aliases, std::vector<std::string>{"etcd-root"});
  const SecretBytes dek = Bytes("by alias");
  auto wrapped = service_->Wrap("etcd-root", &dek);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_TRUE(admin_->CreateKeyAlias(root_.id, "bad alias!").status().code() ==
              absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(admin_->DeleteKeyAlias(root_.id, "etcd-root").ok());
  EXPECT_TRUE(absl::IsNotFound(service_->GetKeyMetadata("etcd-root").status()));

  CreateKeyRequest named = RootKey("named");
  named.aliases = {"alias-one", "alias-two"};
  auto key = admin_->CreateKey(named);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->aliases, (std::vector<std::string>{"alias-one", "alias-two"}));
}

TEST_F(KeyProtectClientTest, KeyPoliciesAreTyped) {
  auto none = admin_->GetKeyPolicies(root_.id);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->rotation.has_value());
  EXPECT_FALSE(none->dual_auth_delete.has_value());

  auto set = admin_->SetRotationPolicy(root_.id, {true, 3});
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(set->rotation.has_value());
  EXPECT_TRUE(set->rotation->enabled);
  EXPECT_EQ(set->rotation->interval_month, 3);
  ASSERT_TRUE(admin_->SetDualAuthDeletePolicy(root_.id, true).ok());
  auto both = admin_->GetKeyPolicies(root_.id);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_TRUE(both->rotation.has_value());
  EXPECT_EQ(both->rotation->interval_month, 3);
  EXPECT_EQ(both->dual_auth_delete, std::optional<bool>(true));
  // Dual authorization cannot be switched off, and a rotation interval
  // outside 1..12 is refused; neither changes what is set.
  EXPECT_EQ(ReasonOf(admin_->SetDualAuthDeletePolicy(root_.id, false).status()),
            "CONFLICT_ERR");
  EXPECT_TRUE(absl::IsInvalidArgument(
      admin_->SetRotationPolicy(root_.id, {true, 13}).status()));
  auto after = admin_->GetKeyPolicies(root_.id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->rotation->interval_month, 3);
  EXPECT_EQ(after->dual_auth_delete, std::optional<bool>(true));
  // Users below Manager, and services, cannot read them.
  EXPECT_TRUE(absl::IsPermissionDenied(service_->GetKeyPolicies(root_.id).status()));
}

TEST_F(KeyProtectClientTest, SecureImportSendsOnlySealedMaterial) {
  ImportTokenRequest token_request;
  token_request.max_retrievals = 3;
  auto token = admin_->CreateImportToken(token_request);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->max_retrievals, 3);
  EXPECT_EQ(token->remaining_retrievals, 3);
  EXPECT_TRUE(token->public_key_pem.empty());  // only a retrieval gives it

  const SecretBytes material = Bytes("0123456789abcdef0123456789abcdef");
  auto key = admin_->ImportKeySecurely(RootKey("imported"), material);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_FALSE(key->extractable);
  const SecretBytes dek = Bytes("imported dek");
  auto wrapped = service_->Wrap(key->id, &dek);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();

  // A retrieval gives the public key and nonce, and counts.
  auto got = admin_->GetImportToken();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, token->id);
  EXPECT_EQ(got->remaining_retrievals, 1);
  EXPECT_EQ(got->public_key_pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(got->nonce.size(), 12u);

  // Rotation of a token-imported key takes new sealed material.
  const SecretBytes next = Bytes("fedcba9876543210fedcba9876543210");
  auto sealed = SealForImport(*got, next);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(admin_->RotateKey(key->id, *sealed).ok());
  auto versions = admin_->ListKeyVersions(key->id);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 2u);
  auto unwrapped = service_->Unwrap(key->id, wrapped->ciphertext);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->plaintext == dek);

  // The nonce must be the token's: one flipped bit is refused.
  ImportToken wrong_nonce = *got;
  wrong_nonce.nonce[0] ^= 1;
  CreateKeyRequest bad = RootKey("bad-nonce");
  auto bad_sealed = SealForImport(wrong_nonce, material);
  ASSERT_TRUE(bad_sealed.ok());
  bad.sealed = *bad_sealed;
  EXPECT_EQ(ReasonOf(admin_->CreateKey(bad).status()), "INCORRECT_NONCE_ERR");
  // A sealed nonce under another IV does not open.
  bad.sealed = *sealed;
  bad.sealed->iv = bad_sealed->iv;
  EXPECT_EQ(ReasonOf(admin_->CreateKey(bad).status()),
            "INCORRECT_NONCE_IV_ERR");

  // The third retrieval is the last.
  auto last = admin_->GetImportToken();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->remaining_retrievals, 0);
  EXPECT_EQ(ReasonOf(admin_->GetImportToken().status()),
            "IMPORT_TOKEN_EXPIRED_ERR");
}

TEST(SealForImportTest, RefusesWhatTheServerWouldRefuse) {
  ImportToken no_key;
  EXPECT_TRUE(absl::IsInvalidArgument(
      SealForImport(no_key, Bytes("0123456789abcdef")).status()));
  ImportToken not_rsa;
  not_rsa.public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  not_rsa.nonce.assign(12, 7);
  auto s = SealForImport(not_rsa, Bytes("0123456789abcdef"));
  EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
  for (size_t size : {0, 15, 17, 31, 33, 64}) {
    auto r = SealForImport(not_rsa, SecretBytes(size));
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << size;
    EXPECT_EQ(r.status().message(),
              "root key material must be 16, 24 or 32 bytes");
  }
}

TEST_F(KeyProtectClientTest, UnknownKeyIsNotFound) {
  auto r = service_->GetKeyMetadata("00000000-0000-4000-8000-000000000000");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

}  // namespace
}  // namespace keywarden::client
