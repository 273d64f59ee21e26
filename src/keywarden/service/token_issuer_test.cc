// TokenIssuer, TokenAuthenticator and the SigningKeySet they share, as two
// nodes over one store see them. IdentityManager's tests cover the token
// rules end to end on one node.
#include "keywarden/service/token_issuer.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"
#include "keywarden/service/identity_manager.h"
#include "keywarden/service/signing_keys.h"
#include "keywarden/service/token_authenticator.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

Reason R(const absl::Status& s) { return ReasonOf(s); }

TokenRequest Request(std::string_view text) {
  return TokenRequest{SecretBytes(
      reinterpret_cast<const uint8_t*>(text.data()), text.size())};
}

// One server's identity services over a shared store.
struct Node {
  Node(store::InMemoryStore* store, const seal::MasterKey* master,
       const Clock* clock, const iam::TokenHash& bootstrap_hash)
      : signing_keys(store, master, clock, TokenOptions{}),
        identity(store, store, &access, &bootstrap, clock),
        issuer(store, &access, &signing_keys, clock, TokenOptions{}),
        authenticator(&bootstrap, &access, &signing_keys, clock,
                      TokenOptions{}) {
    EXPECT_TRUE(identity.Start(bootstrap_hash, std::nullopt).ok());
    EXPECT_TRUE(signing_keys.Start().ok());
  }
  iam::AccessIndex access;
  BootstrapToken bootstrap;
  SigningKeySet signing_keys;
  IdentityManager identity;
  TokenIssuer issuer;
  TokenAuthenticator authenticator;
};

class TokenIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    admin_.principal = {"user-admin", true};
    admin_.correlation_id = "test";
    admin_.source_address = "192.0.2.7";
  }
  std::unique_ptr<Node> StartNode() {
    return std::make_unique<Node>(&store_, master_.get(), &clock_,
                                  iam::HashToken("kwadm_test"));
  }
  std::string NewKey(Node& node) {
    auto key = node.identity.CreateApiKey(
        admin_, std::string(IdentityManager::kAdminUserId), "k");
    EXPECT_TRUE(key.ok()) << key.status();
    return key->secret;
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  std::unique_ptr<seal::MasterKey> master_;
  RequestContext admin_;
};

TEST_F(TokenIssuerTest, ARotatedSigningKeyVerifiesOnAnotherNodeAfterReload) {
  auto a = StartNode();
  auto b = StartNode();
  std::string key = NewKey(*a);
  ASSERT_TRUE(b->identity.Reload().ok());  // b learns the API key
  auto first = a->issuer.IssueToken(admin_, Request(key));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(b->authenticator.Authenticate(iam::BearerToken{first->access_token}).ok());

  // a's key retires: the next token is signed by a key b has not seen.
  clock_.Advance(TokenOptions{}.signing_key_lifetime);
  auto second = a->issuer.IssueToken(admin_, Request(key));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(R(b->authenticator.Authenticate(iam::BearerToken{second->access_token})
                  .status()),
            Reason::kUnauthorized);
  ASSERT_TRUE(b->signing_keys.Reload().ok());
  EXPECT_TRUE(b->authenticator.Authenticate(iam::BearerToken{second->access_token}).ok());
  // The issuer's own node verifies its new key at once: one shared set.
  EXPECT_TRUE(a->authenticator.Authenticate(iam::BearerToken{second->access_token}).ok());
}

TEST_F(TokenIssuerTest, DroppedSigningKeyIsUnsealedAgainNotReplaced) {
  auto a = StartNode();
  std::string key = NewKey(*a);
  auto before = a->issuer.IssueToken(admin_, Request(key));
  ASSERT_TRUE(before.ok());
  auto kid = a->signing_keys.Current();
  ASSERT_TRUE(kid.ok());
  a->signing_keys.Drop();  // sealed
  // Tokens keep verifying: the public keys stay.
  EXPECT_TRUE(a->authenticator.Authenticate(iam::BearerToken{before->access_token}).ok());
  auto after = a->issuer.IssueToken(admin_, Request(key));
  ASSERT_TRUE(after.ok()) << after.status();
  auto kid_after = a->signing_keys.Current();
  ASSERT_TRUE(kid_after.ok());
  EXPECT_EQ((*kid_after)->kid(), (*kid)->kid());
  auto stored = store_.ListSigningKeys();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 1u);
}

TEST_F(TokenIssuerTest, AThrottledSourceIsRefusedBeforeItsRequestIsRead) {
  auto a = StartNode();
  EXPECT_TRUE(a->issuer.AdmitSource(admin_).ok());
  EXPECT_EQ(R(a->issuer.IssueToken(admin_, Request("")).status()),
            Reason::kBadRequest);
  // Wrong keys under many prefixes: only the address throttle trips.
  absl::Status last;
  for (int i = 0; i < 20; ++i) {
    last = a->issuer.IssueToken(admin_, Request(StrCat("wrong-key-", i)))
               .status();
    EXPECT_EQ(R(last), Reason::kUnauthorized) << i;
  }
  absl::Status admitted = a->issuer.AdmitSource(admin_);
  EXPECT_EQ(R(admitted), Reason::kTooManyRequests);
  ASSERT_TRUE(TokenIssuer::RetryAfterOf(admitted).has_value());
  EXPECT_GT(*TokenIssuer::RetryAfterOf(admitted), absl::ZeroDuration());
  EXPECT_EQ(R(a->issuer.IssueToken(admin_, Request(NewKey(*a))).status()),
            Reason::kTooManyRequests);
  RequestContext other = admin_;
  other.source_address = "192.0.2.8";
  EXPECT_TRUE(a->issuer.AdmitSource(other).ok());
  clock_.Advance(absl::Minutes(2));
  EXPECT_TRUE(a->issuer.AdmitSource(admin_).ok());
}

}  // namespace
}  // namespace keywarden::service
