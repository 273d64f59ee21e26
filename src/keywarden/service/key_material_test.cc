// The data plane's key material rules: WDEK format 2 as KeyManager writes
// and opens it (docs/formats/wdek.md), and which key states let material be
// read or used (keyprotect-api.md §3.4, §5), one cell per state and path.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/random.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

using keys::KeyState;

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";
constexpr std::string_view kOther = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e02";


class KeyMaterialTest : public ::testing::Test {
 protected:
  KeyMaterialTest() {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    access_.PutInstance({std::string(kInstance), "test", clock_.Now(), "t"});
    access_.PutInstance({std::string(kOther), "other", clock_.Now(), "t"});
    Restart();
    ctx_.instance_id = std::string(kInstance);
    ctx_.principal = {"tester", true};
    other_ = ctx_;
    other_.instance_id = std::string(kOther);
  }

  // A new KeyManager over the same store: an empty key cache, as after a
  // server restart. Needed after changing a key in the store directly.
  void Restart() {
    // The manager first: it tells the data plane of its changes.
    manager_.reset();
    plane_ = std::make_unique<DataPlaneService>(
        DataPlaneDeps{&store_, master_.get(), &access_control_, &clock_},
        1000);
    KeyManagerDeps deps;
    deps.store = &store_;
    deps.master_key = master_.get();
    deps.access = &access_control_;
    deps.clock = &clock_;
    deps.data_plane = plane_.get();
    manager_ = std::make_unique<KeyManager>(deps, KeyManagerOptions{});
  }

  KeyResult Create(const RequestContext& ctx, bool extractable,
                   std::optional<SecretBytes> payload = std::nullopt,
                   std::optional<absl::Time> expiration = std::nullopt) {
    CreateKeyRequest req;
    req.name = "material-key";
    req.extractable = extractable;
    if (payload.has_value()) req.payload = *std::move(payload);
    req.expiration_time = expiration;
    auto key = manager_->CreateKey(ctx, req);
    EXPECT_TRUE(key.ok()) << key.status();
    return *std::move(key);
  }

  // Puts a key into `state` through the store, as no API call can (for
  // Pre-activation, and Suspended for a standard key).
  void ForceState(std::string_view key_id, KeyState state) {
    auto key = store_.GetKey(kInstance, key_id);
    ASSERT_TRUE(key.ok()) << key.status();
    const absl::Time expected = key->last_update_time;
    key->state = state;
    key->last_update_time = expected + absl::Microseconds(1);
    ASSERT_TRUE(store_.UpdateKey(*key, expected).ok());
    Restart();
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  iam::AccessIndex access_;
  AccessControl access_control_{&store_, &access_, nullptr};
  std::unique_ptr<seal::MasterKey> master_;
  std::unique_ptr<DataPlaneService> plane_;
  std::unique_ptr<KeyManager> manager_;
  RequestContext ctx_;
  RequestContext other_;
};

Reason R(const absl::Status& s) { return ReasonOf(s); }

// ---------------------------------------------------------------- WDEK v2

TEST_F(KeyMaterialTest, WrapWritesFormatTwoOfTheDocumentedSize) {
  KeyResult k = Create(ctx_, false);
  auto wrapped = plane_->Wrap(ctx_, k.key.id, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  const std::vector<uint8_t>* raw = &wrapped->ciphertext;
  ASSERT_EQ(raw->size(), keys::kWdekV2HeaderSize + 32 + crypto::kGcmTagSize);
  EXPECT_EQ(raw->data()[0], keys::kWdekFormatV2);
}

TEST_F(KeyMaterialTest, SameMaterialInAnotherInstanceUnwrapsAndRewraps) {
  const SecretBytes material = crypto::RandomSecret(32);
  KeyResult here = Create(ctx_, false, material);
  KeyResult there = Create(other_, false, material);
  KeyResult unrelated = Create(other_, false, crypto::RandomSecret(32));
  WrapRequest w;
  w.aad = {"tenant=a", "bucket=b"};
  auto wrapped = plane_->Wrap(ctx_, here.key.id, w);
  ASSERT_TRUE(wrapped.ok());

  auto opened = plane_->Unwrap(other_, there.key.id,
                                 {wrapped->ciphertext, w.aad});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->plaintext == *wrapped->plaintext);
  EXPECT_EQ(opened->key_version.id, there.key.id);  // the version that opened it
  EXPECT_FALSE(opened->rewrapped_ciphertext.has_value());
  auto rewrapped = plane_->Rewrap(other_, there.key.id,
                                    {wrapped->ciphertext, w.aad});
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  // ...and what the other instance wraps opens here.
  auto back = plane_->Unwrap(ctx_, here.key.id, {rewrapped->ciphertext, w.aad});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->plaintext == *wrapped->plaintext);

  EXPECT_EQ(R(plane_->Unwrap(other_, unrelated.key.id,
                               {wrapped->ciphertext, w.aad})
                  .status()),
            Reason::kUnprocessableCiphertext);
  // A 128-bit imported material is no exception.
  const SecretBytes small = crypto::RandomSecret(16);
  KeyResult a = Create(ctx_, false, small);
  KeyResult b = Create(other_, false, small);
  auto w16 = plane_->Wrap(ctx_, a.key.id, {});
  ASSERT_TRUE(w16.ok());
  EXPECT_TRUE(plane_->Unwrap(other_, b.key.id, {w16->ciphertext, {}}).ok());
}

TEST_F(KeyMaterialTest, OldVersionFoundByFingerprintAndRewrappedAsFormatTwo) {
  KeyResult k = Create(ctx_, false, crypto::RandomSecret(32));
  auto old = plane_->Wrap(ctx_, k.key.id, {});
  ASSERT_TRUE(old.ok());
  RotateRequest rotate;
  rotate.payload = crypto::RandomSecret(24);
  ASSERT_TRUE(manager_->Rotate(ctx_, k.key.id, rotate).ok());
  Restart();  // fingerprints are recomputed when the key is loaded again
  auto opened = plane_->Unwrap(ctx_, k.key.id, {old->ciphertext, {}});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->key_version.id, k.key.id);
  ASSERT_TRUE(opened->rewrapped_ciphertext.has_value());
  EXPECT_NE(opened->rewrapped_key_version->id, k.key.id);
  const std::vector<uint8_t>* raw = &*opened->rewrapped_ciphertext;
  EXPECT_EQ(raw->data()[0], keys::kWdekFormatV2);
  auto again =
      plane_->Unwrap(ctx_, k.key.id, {*opened->rewrapped_ciphertext, {}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key_version.id, opened->rewrapped_key_version->id);
  EXPECT_TRUE(again->plaintext == *old->plaintext);
}

TEST_F(KeyMaterialTest, FormatOneWdeksStillUnwrapAndComeBackAsFormatTwo) {
  const SecretBytes material = crypto::RandomSecret(32);
  KeyResult k = Create(ctx_, false, material);
  auto kek = crypto::AesGcm::Create(material.span());
  ASSERT_TRUE(kek.ok());
  const std::vector<uint8_t> dek(32, 0x42);
  const std::vector<std::string> aad = {"ctx"};
  auto v1 = keys::WrapDek(*kek, kInstance, k.key.id, k.key.id, dek, aad);
  ASSERT_TRUE(v1.ok());
  auto opened = plane_->Unwrap(ctx_, k.key.id, {*v1, aad});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(std::vector<uint8_t>(opened->plaintext.span().begin(),
                                 opened->plaintext.span().end()),
            dek);
  auto rewrapped = plane_->Rewrap(ctx_, k.key.id, {*v1, aad});
  ASSERT_TRUE(rewrapped.ok());
  EXPECT_EQ(rewrapped->ciphertext[0],
            keys::kWdekFormatV2);
  // A v1 WDEK stays bound to its instance: the same material elsewhere
  // does not open it (only format 2 is material-bound).
  KeyResult there = Create(other_, false, material);
  EXPECT_EQ(R(plane_->Unwrap(other_, there.key.id, {*v1, aad}).status()),
            Reason::kUnprocessableCiphertext);
}

TEST_F(KeyMaterialTest, EveryCorruptionAadChangeAndWrongKeyIsTheSame422) {
  KeyResult k = Create(ctx_, false);
  KeyResult other_key = Create(ctx_, false);
  const std::vector<std::string> aad = {"tenant-a", "bucket-1"};
  WrapRequest w;
  w.aad = aad;
  auto wrapped = plane_->Wrap(ctx_, k.key.id, w);
  ASSERT_TRUE(wrapped.ok());
  const std::vector<uint8_t> raw = wrapped->ciphertext;
  std::set<std::string> messages;
  auto expect_422 = [&](const std::string& key_id,
                        const std::vector<uint8_t>& ct,
                        const std::vector<std::string>& a,
                        const std::string& what) {
    absl::Status s = plane_->Unwrap(ctx_, key_id, {ct, a}).status();
    EXPECT_EQ(R(s), Reason::kUnprocessableCiphertext) << what;
    messages.insert(std::string(s.message()));
    absl::Status r = plane_->Rewrap(ctx_, key_id, {ct, a}).status();
    EXPECT_EQ(R(r), Reason::kUnprocessableCiphertext) << "rewrap " << what;
    messages.insert(std::string(r.message()));
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    std::vector<uint8_t> bad = raw;
    bad[i] ^= 0x80;
    expect_422(k.key.id, bad, aad, "flip " + std::to_string(i));
  }
  for (size_t n = 1; n < raw.size(); ++n) {
    expect_422(k.key.id, std::vector<uint8_t>(raw.begin(), raw.begin() + n), aad,
               "truncate " + std::to_string(n));
  }
  std::vector<uint8_t> longer = raw;
  longer.push_back(0);
  expect_422(k.key.id, longer, aad, "append");
  const std::vector<std::vector<std::string>> wrong_aads = {
      {},
      {"bucket-1", "tenant-a"},
      {"tenant-a"},
      {"tenant-a", "bucket-2"},
      {"tenant-a", "bucket-1", "x"},
      {"tenant-abucket-1"},
  };
  for (const auto& a : wrong_aads) {
    expect_422(k.key.id, wrapped->ciphertext, a, "aad");
  }
  expect_422(other_key.key.id, wrapped->ciphertext, aad, "other key");
  EXPECT_EQ(messages.size(), 1u);
  EXPECT_TRUE(plane_->Unwrap(ctx_, k.key.id, {wrapped->ciphertext, aad}).ok());
}

// ------------------------------------------- material × key state (§3.4, §5)

enum class Outcome { kOk, kInvalidState };

struct StateCell {
  KeyState state;
  bool payload;  // GET /keys/{id} of a standard key carries the payload
  Outcome wrap, unwrap, rewrap, rotate;
};

// keyprotect-api.md §5 "Action × state", §3.4, §4.2-§4.6. Get and metadata
// answer in every state; material is served and used only where Key
// Protect allows its use.
const StateCell kStateTable[] = {
    {KeyState::kPreActivation, false, Outcome::kInvalidState,
     Outcome::kInvalidState, Outcome::kInvalidState, Outcome::kInvalidState},
    {KeyState::kActive, true, Outcome::kOk, Outcome::kOk, Outcome::kOk,
     Outcome::kOk},
    {KeyState::kSuspended, false, Outcome::kInvalidState,
     Outcome::kInvalidState, Outcome::kInvalidState, Outcome::kInvalidState},
    {KeyState::kDeactivated, true, Outcome::kInvalidState, Outcome::kOk,
     Outcome::kOk, Outcome::kOk},
    {KeyState::kDestroyed, false, Outcome::kInvalidState,
     Outcome::kInvalidState, Outcome::kInvalidState, Outcome::kInvalidState},
};

void ExpectOutcome(const absl::Status& s, Outcome want, const std::string& what) {
  if (want == Outcome::kOk) {
    EXPECT_TRUE(s.ok()) << what << ": " << s;
  } else {
    EXPECT_EQ(ReasonOf(s), Reason::kKeyActionInvalidState) << what << ": " << s;
  }
}

TEST_F(KeyMaterialTest, EveryStateAndEveryPathThatReadsOrUsesMaterial) {
  for (const StateCell& cell : kStateTable) {
    const std::string name =
        "state " + std::to_string(static_cast<int>(cell.state));
    // Fresh keys per state: an imported root key (so rotate takes a payload)
    // with a WDEK made while Active, and a standard key with a known payload.
    const SecretBytes payload = crypto::RandomSecret(48);
    std::optional<absl::Time> expiry;
    if (cell.state == KeyState::kDeactivated) expiry = clock_.Now() + absl::Hours(1);
    KeyResult root = Create(ctx_, false, crypto::RandomSecret(32), expiry);
    KeyResult standard = Create(ctx_, true, payload, expiry);
    auto wdek = plane_->Wrap(ctx_, root.key.id, {});
    ASSERT_TRUE(wdek.ok()) << name;

    switch (cell.state) {
      case KeyState::kActive:
        break;
      case KeyState::kPreActivation:
        ForceState(root.key.id, cell.state);
        ForceState(standard.key.id, cell.state);
        break;
      case KeyState::kSuspended:
        ASSERT_TRUE(manager_->Disable(ctx_, root.key.id).ok()) << name;
        ForceState(standard.key.id, cell.state);  // standard keys cannot be disabled
        break;
      case KeyState::kDeactivated:
        clock_.Advance(absl::Hours(1));  // expired: effective state 3
        break;
      case KeyState::kDestroyed:
        ASSERT_TRUE(manager_->DeleteKey(ctx_, root.key.id, {}).ok()) << name;
        ASSERT_TRUE(manager_->DeleteKey(ctx_, standard.key.id, {}).ok()) << name;
        break;
    }

    // Get (with payload) and metadata: the key in every state.
    auto got = manager_->GetKey(ctx_, standard.key.id);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_EQ(got->key.state, cell.state) << name;
    EXPECT_EQ(got->payload.has_value(), cell.payload) << name;
    if (cell.payload && got->payload.has_value()) {
      EXPECT_TRUE(*got->payload == payload) << name;
    }
    auto meta = manager_->GetKeyMetadata(ctx_, standard.key.id);
    ASSERT_TRUE(meta.ok()) << name;
    EXPECT_FALSE(meta->payload.has_value()) << name;
    auto got_root = manager_->GetKey(ctx_, root.key.id);
    ASSERT_TRUE(got_root.ok()) << name;
    EXPECT_EQ(got_root->key.state, cell.state) << name;
    EXPECT_FALSE(got_root->payload.has_value()) << name;  // never root material

    // The data plane.
    ExpectOutcome(plane_->Wrap(ctx_, root.key.id, {}).status(), cell.wrap,
                  name + " wrap");
    absl::StatusOr<UnwrapResult> unwrapped =
        plane_->Unwrap(ctx_, root.key.id, {wdek->ciphertext, {}});
    ExpectOutcome(unwrapped.status(), cell.unwrap, name + " unwrap");
    if (unwrapped.ok()) {
      EXPECT_TRUE(unwrapped->plaintext == *wdek->plaintext) << name;
    }
    ExpectOutcome(
        plane_->Rewrap(ctx_, root.key.id, {wdek->ciphertext, {}}).status(),
        cell.rewrap, name + " rewrap");
    RotateRequest rotate;
    rotate.payload = crypto::RandomSecret(32);
    ExpectOutcome(manager_->Rotate(ctx_, root.key.id, rotate).status(),
                  cell.rotate, name + " rotate with payload");
  }
}

TEST_F(KeyMaterialTest, RestoredKeyServesItsPayloadAgain) {
  const SecretBytes payload = crypto::RandomSecret(32);
  KeyResult standard = Create(ctx_, true, payload);
  ASSERT_TRUE(manager_->DeleteKey(ctx_, standard.key.id, {}).ok());
  EXPECT_FALSE(manager_->GetKey(ctx_, standard.key.id)->payload.has_value());
  clock_.Advance(absl::Seconds(31));
  ASSERT_TRUE(manager_->RestoreKey(ctx_, standard.key.id).ok());
  auto got = manager_->GetKey(ctx_, standard.key.id);
  ASSERT_TRUE(got.ok() && got->payload.has_value());
  EXPECT_TRUE(*got->payload == payload);
}

}  // namespace
}  // namespace keywarden::service
