#include "keywarden/service/identity_manager.h"
#include "keywarden/service/signing_keys.h"
#include "keywarden/service/token_authenticator.h"
#include "keywarden/service/token_issuer.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

Reason R(const absl::Status& s) { return ReasonOf(s); }

class IdentityManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    bootstrap_ = iam::GenerateAdminToken();
    Restart();
    admin_.principal = {"user-admin", true};
    admin_.correlation_id = "test";
    admin_.source_address = "127.0.0.1";
  }
  // Fresh identity services over the same store, as after a server
  // restart.
  void Restart() {
    authenticator_.reset();
    issuer_.reset();
    identity_.reset();
    access_ = std::make_unique<iam::AccessIndex>();
    bootstrap_token_ = std::make_unique<BootstrapToken>();
    signing_keys_ = std::make_unique<SigningKeySet>(&store_, master_.get(),
                                                    &clock_, TokenOptions{});
    identity_ = std::make_unique<IdentityManager>(
        &store_, &store_, access_.get(), bootstrap_token_.get(), &clock_);
    issuer_ = std::make_unique<TokenIssuer>(&store_, access_.get(),
                                            signing_keys_.get(), &clock_,
                                            TokenOptions{});
    authenticator_ = std::make_unique<TokenAuthenticator>(
        bootstrap_token_.get(), access_.get(), signing_keys_.get(), &clock_,
        TokenOptions{});
    ASSERT_TRUE(identity_->Start(iam::HashToken(bootstrap_), std::nullopt).ok());
    ASSERT_TRUE(signing_keys_->Start().ok());
  }
  // The token form's wire syntax is api/keyprotect/token_form_test.cc's.
  TokenRequest Form(std::string_view apikey) {
    return TokenRequest{SecretBytes(
        reinterpret_cast<const uint8_t*>(apikey.data()), apikey.size())};
  }
  // A service id with an API key; returns {principal id, api key text}.
  std::pair<std::string, NewApiKey> ServiceWithKey(std::string type) {
    auto sid = identity_->CreatePrincipal(
        admin_, iam::PrincipalKind::kServiceId, "svc", std::move(type), false);
    EXPECT_TRUE(sid.ok()) << sid.status();
    auto key = identity_->CreateApiKey(admin_, sid->id, "k");
    EXPECT_TRUE(key.ok()) << key.status();
    return {sid->id, *key};
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  std::unique_ptr<seal::MasterKey> master_;
  std::unique_ptr<iam::AccessIndex> access_;
  std::unique_ptr<BootstrapToken> bootstrap_token_;
  std::unique_ptr<SigningKeySet> signing_keys_;
  std::unique_ptr<IdentityManager> identity_;
  std::unique_ptr<TokenIssuer> issuer_;
  std::unique_ptr<TokenAuthenticator> authenticator_;
  std::string bootstrap_;
  RequestContext admin_;
};

TEST_F(IdentityManagerTest, BootstrapTokenIsTheFirstAdministrator) {
  auto p = authenticator_->Authenticate(iam::BearerToken{bootstrap_});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->id, "user-admin");
  EXPECT_TRUE(p->is_admin);
  EXPECT_EQ(R(authenticator_->Authenticate(iam::BearerToken{"kwadm_wrong"}).status()),
            Reason::kUnauthorized);
  EXPECT_EQ(R(authenticator_->Authenticate(iam::Credential{}).status()), Reason::kUnauthorized);
}

TEST_F(IdentityManagerTest, BootstrapTokenCanBeRevokedOnceAnotherAdminHasAKey) {
  EXPECT_EQ(R(identity_->RevokeBootstrapToken(admin_)), Reason::kConflict);
  auto other = identity_->CreatePrincipal(admin_, iam::PrincipalKind::kUser,
                                          "ops", "", true);
  ASSERT_TRUE(other.ok());
  auto key = identity_->CreateApiKey(admin_, other->id, "ops");
  ASSERT_TRUE(key.ok());
  RequestContext ops = admin_;
  ops.principal = {other->id, true};
  ASSERT_TRUE(identity_->RevokeBootstrapToken(ops).ok());
  EXPECT_EQ(R(authenticator_->Authenticate(iam::BearerToken{bootstrap_}).status()),
            Reason::kUnauthorized);
  Restart();  // stays revoked
  EXPECT_EQ(R(authenticator_->Authenticate(iam::BearerToken{bootstrap_}).status()),
            Reason::kUnauthorized);
  auto grant = issuer_->IssueToken(admin_, Form(key->secret));
  ASSERT_TRUE(grant.ok());
  EXPECT_TRUE(authenticator_->Authenticate(iam::BearerToken{grant->access_token})->is_admin);
}

TEST_F(IdentityManagerTest, ApiKeyExchangesForATokenThatAuthenticates) {
  auto [sid, key] = ServiceWithKey("object-storage");
  auto grant = issuer_->IssueToken(admin_, Form(key.secret));
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->expires_in, 3600);
  auto p = authenticator_->Authenticate(iam::BearerToken{grant->access_token});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->id, sid);
  EXPECT_TRUE(p->is_service);
  EXPECT_EQ(p->service_type, "object-storage");
  EXPECT_FALSE(p->is_admin);
}

TEST_F(IdentityManagerTest, TokensSurviveARestartAndExpire) {
  auto [sid, key] = ServiceWithKey("object-storage");
  auto grant = issuer_->IssueToken(admin_, Form(key.secret));
  ASSERT_TRUE(grant.ok());
  Restart();  // signing keys come back from the store
  EXPECT_TRUE(authenticator_->Authenticate(iam::BearerToken{grant->access_token}).ok());
  clock_.Advance(absl::Hours(1) + absl::Minutes(1));
  EXPECT_EQ(R(authenticator_->Authenticate(iam::BearerToken{grant->access_token}).status()),
            Reason::kUnauthorized);
}

TEST_F(IdentityManagerTest, RevokingTheApiKeyOrPrincipalStopsItsTokens) {
  auto [sid, key] = ServiceWithKey("");
  auto grant = issuer_->IssueToken(admin_, Form(key.secret));
  ASSERT_TRUE(grant.ok());
  iam::BearerToken bearer{grant->access_token};
  ASSERT_TRUE(authenticator_->Authenticate(bearer).ok());  // now cached
  ASSERT_TRUE(identity_->DeleteApiKey(admin_, key.record.id).ok());
  EXPECT_EQ(R(authenticator_->Authenticate(bearer).status()), Reason::kUnauthorized);
  EXPECT_EQ(R(issuer_->IssueToken(admin_, Form(key.secret)).status()),
            Reason::kUnauthorized);

  auto key2 = identity_->CreateApiKey(admin_, sid, "k2");
  auto grant2 = issuer_->IssueToken(admin_, Form(key2->secret));
  ASSERT_TRUE(grant2.ok());
  ASSERT_TRUE(identity_->DeletePrincipal(admin_, sid).ok());
  EXPECT_EQ(R(authenticator_->Authenticate(iam::BearerToken{grant2->access_token}).status()),
            Reason::kUnauthorized);
}

TEST_F(IdentityManagerTest, TokenRequestsAreValidatedAndThrottled) {
  EXPECT_EQ(R(issuer_->IssueToken(admin_, Form("")).status()),
            Reason::kBadRequest);
  auto [sid, key] = ServiceWithKey("");
  // A wrong secret under the same prefix. Not the last symbol: changing it
  // can leave non-zero unused bits, which no key text has, and such a text
  // is throttled under another prefix.
  std::string wrong = key.secret;
  char& c = wrong[wrong.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  absl::Status last;
  for (int i = 0; i < 10; ++i) {
    last = issuer_->IssueToken(admin_, Form(wrong)).status();
  }
  EXPECT_EQ(R(last), Reason::kTooManyRequests);
  ASSERT_TRUE(TokenIssuer::RetryAfterOf(last).has_value());
  // The same prefix is throttled even with the right secret...
  EXPECT_EQ(R(issuer_->IssueToken(admin_, Form(key.secret)).status()),
            Reason::kTooManyRequests);
  // ...until the window passes.
  clock_.Advance(absl::Minutes(2));
  EXPECT_TRUE(issuer_->IssueToken(admin_, Form(key.secret)).ok());
}

TEST_F(IdentityManagerTest, AuthFailuresAndChangesAreAudited) {
  auto [sid, key] = ServiceWithKey("");
  (void)issuer_->IssueToken(admin_, Form("kwk_00000000_nope"));
  auto records = identity_->ListAudit(admin_, 0, 1000);
  ASSERT_TRUE(records.ok());
  std::vector<std::string> actions;
  for (const auto& r : *records) actions.push_back(r.action);
  EXPECT_THAT(actions, ::testing::Contains("iam.principal.create"));
  EXPECT_THAT(actions, ::testing::Contains("iam.apikey.create"));
  EXPECT_THAT(actions, ::testing::Contains("auth.failure"));
  for (const auto& r : *records) {
    EXPECT_EQ(r.details.find(key.secret), std::string::npos);
  }
  EXPECT_TRUE(store_.VerifyAuditChain().ok());
}

TEST_F(IdentityManagerTest, OnlyAdminsManageIdentitiesAndManagersTheirGrants) {
  auto instance = identity_->CreateInstance(admin_, "prod");
  ASSERT_TRUE(instance.ok());
  auto user = identity_->CreatePrincipal(admin_, iam::PrincipalKind::kUser,
                                         "bob", "", false);
  ASSERT_TRUE(user.ok());
  RequestContext bob = admin_;
  bob.principal = {user->id, false};
  EXPECT_EQ(R(identity_->CreateInstance(bob, "mine").status()),
            Reason::kForbidden);
  PolicyRequest grant{user->id, {instance->id, {}, {}}, {"Manager"}};
  EXPECT_EQ(R(identity_->CreatePolicy(bob, grant).status()), Reason::kForbidden);
  ASSERT_TRUE(identity_->CreatePolicy(admin_, grant).ok());
  // As Manager of the instance bob may now grant others there.
  auto sid = identity_->CreatePrincipal(admin_, iam::PrincipalKind::kServiceId,
                                        "cos", "object-storage", false);
  AuthorizationRequest a;
  a.source_service_type = "object-storage";
  a.target.instance_id = instance->id;
  auto created = identity_->CreateAuthorization(bob, a);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->role, iam::Role::kReader);
  EXPECT_EQ(identity_->ListAuthorizations(bob, instance->id)->size(), 1u);
  ASSERT_TRUE(identity_->DeleteAuthorization(bob, created->id).ok());
}

// Issue 10 §1, as reproduced: a service with a Manager authorization on the
// instance and a Manager policy on one key granted itself Manager and
// KeyPurge on the whole instance. Grants are managed from policies only,
// within their scope, with roles the grantor holds, never KeyPurge.
TEST_F(IdentityManagerTest, ManagersGrantOnlyWhatTheyHoldWhereTheyHoldIt) {
  auto instance = identity_->CreateInstance(admin_, "prod");
  ASSERT_TRUE(instance.ok());
  auto [sid, key] = ServiceWithKey("object-storage");
  RequestContext svc = admin_;
  svc.principal = {sid, false, true, "object-storage"};
  AuthorizationRequest a;
  a.source_service_id = sid;
  a.target.instance_id = instance->id;
  a.role = "Manager";
  ASSERT_TRUE(identity_->CreateAuthorization(admin_, a).ok());
  const std::string k1 = "11111111-1111-4111-8111-111111111111";
  ASSERT_TRUE(identity_
                  ->CreatePolicy(admin_, {sid, {instance->id, {}, k1},
                                          {"Manager"}})
                  .ok());
  const iam::Scope whole{instance->id, {}, {}};
  EXPECT_EQ(R(identity_->CreatePolicy(svc, {sid, whole, {"Manager", "KeyPurge"}})
                  .status()),
            Reason::kForbidden);
  EXPECT_EQ(R(identity_->CreatePolicy(svc, {sid, whole, {"Reader"}}).status()),
            Reason::kForbidden);
  AuthorizationRequest widen = a;
  EXPECT_EQ(R(identity_->CreateAuthorization(svc, widen).status()),
            Reason::kForbidden);
  // On K1 it may hand on what it holds there, but never KeyPurge.
  auto user = identity_->CreatePrincipal(admin_, iam::PrincipalKind::kUser,
                                         "carol", "", false);
  ASSERT_TRUE(user.ok());
  const iam::Scope on_k1{instance->id, {}, k1};
  EXPECT_TRUE(identity_->CreatePolicy(svc, {user->id, on_k1, {"Writer"}}).ok());
  EXPECT_EQ(R(identity_->CreatePolicy(svc, {user->id, on_k1, {"KeyPurge"}})
                  .status()),
            Reason::kForbidden);
  const iam::Scope other{instance->id, {}, "22222222-2222-4222-8222-222222222222"};
  EXPECT_EQ(R(identity_->CreatePolicy(svc, {user->id, other, {"Reader"}})
                  .status()),
            Reason::kForbidden);
  // It sees the grants of its scope only.
  auto listed = identity_->ListPolicies(svc, instance->id, std::nullopt);
  ASSERT_TRUE(listed.ok()) << listed.status();
  for (const auto& p : *listed) EXPECT_EQ(p.scope.key_id, k1);
  // Administrators grant anything, KeyPurge included.
  EXPECT_TRUE(
      identity_->CreatePolicy(admin_, {user->id, whole, {"KeyPurge"}}).ok());
}

TEST_F(IdentityManagerTest, InstancesCannotBeDeletedWhileHoldingKeys) {
  auto instance = identity_->CreateInstance(admin_, "prod");
  ASSERT_TRUE(instance.ok());
  keys::Key k;
  k.instance_id = instance->id;
  k.id = "11111111-1111-4111-8111-111111111111";
  k.name = "k";
  k.versions.push_back({k.id, clock_.Now(), "mk-1", {1, 2, 3}});
  ASSERT_TRUE(store_.CreateKey(k).ok());
  EXPECT_EQ(R(identity_->DeleteInstance(admin_, instance->id)),
            Reason::kInstanceNotEmpty);
}

TEST_F(IdentityManagerTest, PoliciesValidateRolesAndScopes) {
  auto instance = identity_->CreateInstance(admin_, "prod");
  auto user = identity_->CreatePrincipal(admin_, iam::PrincipalKind::kUser,
                                         "bob", "", false);
  PolicyRequest bad_role{user->id, {instance->id, {}, {}}, {"Owner"}};
  EXPECT_EQ(R(identity_->CreatePolicy(admin_, bad_role).status()),
            Reason::kBadRequest);
  PolicyRequest both{user->id, {instance->id, "r", "k"}, {"Reader"}};
  EXPECT_EQ(R(identity_->CreatePolicy(admin_, both).status()),
            Reason::kBadRequest);
  PolicyRequest unknown{user->id,
                        {"99999999-9999-4999-8999-999999999999", {}, {}},
                        {"Reader"}};
  EXPECT_NE(identity_->CreatePolicy(admin_, unknown).status().code(),
            absl::StatusCode::kOk);
}

}  // namespace
}  // namespace keywarden::service
