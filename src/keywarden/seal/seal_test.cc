#include "keywarden/seal/seal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <atomic>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/ids.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<uint8_t> ToVector(const SecretBytes& s) {
  return std::vector<uint8_t>(s.span().begin(), s.span().end());
}

// A fresh directory per test under the test's temp dir (hermetic; removed
// afterwards).
class FileSealTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "kw_seal_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    data_dir_ = (fs::path(root_) / "data").string();
    key_path_ = data_dir_ + "/master.key";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string ReadFile() {
    std::ifstream in(key_path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void WriteFile(const std::string& content, mode_t mode = 0600) {
    fs::create_directories(data_dir_);
    fs::remove(key_path_);
    std::ofstream(key_path_, std::ios::binary) << content;
    ASSERT_EQ(::chmod(key_path_.c_str(), mode), 0);
  }

  std::string root_, data_dir_, key_path_;
};

TEST_F(FileSealTest, FirstUnsealCreatesPrivateFileAndDir) {
  auto key = NewFileSeal(data_dir_)->Unseal();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(IsUuid((*key)->id()));

  struct stat st;
  ASSERT_EQ(::stat(key_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(data_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // docs/formats/material.md §2.
  const std::string content = ReadFile();
  const std::string prefix = "keywarden-master-key v1\n" + (*key)->id() + "\n";
  ASSERT_EQ(content.substr(0, prefix.size()), prefix);
  ASSERT_EQ(content.size(), prefix.size() + 45);
  EXPECT_EQ(content.back(), '\n');
  auto raw = crypto::Base64Decode(content.substr(prefix.size(), 44));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
}

TEST_F(FileSealTest, ReloadGivesSameKey) {
  auto first = NewFileSeal(data_dir_)->Unseal();
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string before = ReadFile();
  auto sealed = (*first)->Encrypt(Bytes("material"), Bytes("aad"));
  ASSERT_TRUE(sealed.ok());

  auto second = NewFileSeal(data_dir_)->Unseal();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->id(), (*first)->id());
  EXPECT_EQ(ReadFile(), before);  // never rewritten
  auto opened = (*second)->Decrypt(*sealed, Bytes("aad"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(ToVector(*opened), Bytes("material"));
}

TEST_F(FileSealTest, DifferentDirsGetDifferentKeys) {
  auto a = NewFileSeal(data_dir_ + "/a")->Unseal();
  auto b = NewFileSeal(data_dir_ + "/b")->Unseal();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE((*a)->id(), (*b)->id());
  auto sealed = (*a)->Encrypt(Bytes("x"), {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_FALSE((*b)->Decrypt(*sealed, {}).ok());
}

TEST_F(FileSealTest, RefusesGroupOrOtherPermissions) {
  ASSERT_TRUE(NewFileSeal(data_dir_)->Unseal().ok());
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0666, 0610, 0601}) {
    ASSERT_EQ(::chmod(key_path_.c_str(), mode), 0);
    auto key = NewFileSeal(data_dir_)->Unseal();
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(key.status().message(), HasSubstr(key_path_));
    char mode_text[16];
    std::snprintf(mode_text, sizeof mode_text, "(mode %04o)", mode);
    EXPECT_THAT(key.status().message(), HasSubstr(mode_text));
    EXPECT_THAT(key.status().message(), HasSubstr("chmod 600"));
    EXPECT_EQ(key.status().message().find('\n'), std::string::npos);
  }
  ASSERT_EQ(::chmod(key_path_.c_str(), 0400), 0);  // owner-only is fine
  EXPECT_TRUE(NewFileSeal(data_dir_)->Unseal().ok());
}

TEST_F(FileSealTest, RefusesNonRegularFiles) {
  fs::create_directories(key_path_);  // a directory named master.key
  auto key = NewFileSeal(data_dir_)->Unseal();
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(key.status().message(), HasSubstr("not a regular file"));
  fs::remove(key_path_);

  // A symlink to a well-formed, private key file is still refused.
  auto other = NewFileSeal(root_ + "/other")->Unseal();
  ASSERT_TRUE(other.ok());
  fs::create_symlink(root_ + "/other/master.key", key_path_);
  key = NewFileSeal(data_dir_)->Unseal();
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(key.status().message(), HasSubstr("symbolic link"));
  fs::remove(key_path_);

  ASSERT_EQ(::mkfifo(key_path_.c_str(), 0600), 0);
  key = NewFileSeal(data_dir_)->Unseal();
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("not a regular file"));
}

TEST_F(FileSealTest, RefusesMalformedFiles) {
  const std::string id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0";
  const std::string b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  const std::string good = "keywarden-master-key v1\n" + id + "\n" + b64 + "\n";
  WriteFile(good);
  auto ok = NewFileSeal(data_dir_)->Unseal();
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->id(), id);

  const std::string bad[] = {
      "",
      "keywarden-master-key v1\n",
      "keywarden-master-key v2\n" + id + "\n" + b64 + "\n",
      "keywarden-master-key v1\r\n" + id + "\n" + b64 + "\n",
      "keywarden-master-key v1\nnot-a-uuid\n" + b64 + "\n",
      "keywarden-master-key v1\n" + id + "\n" + b64,           // no final \n
      good + "\n",                                             // extra line
      good + "x",                                              // trailing data
      "keywarden-master-key v1\n" + id + "\n" + b64.substr(0, 40) + "\n",
      "keywarden-master-key v1\n" + id + "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
      "keywarden-master-key v1\n" + id + "\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",
      "keywarden-master-key v1\n" + id + "\n " + b64 + "\n",
      "keywarden-master-key v1\n" + id + "\n" + b64 + b64 + "\n",  // 64 bytes
      std::string(5000, 'A'),
  };
  for (const std::string& content : bad) {
    WriteFile(content);
    auto key = NewFileSeal(data_dir_)->Unseal();
    ASSERT_FALSE(key.ok()) << content;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(key.status().message(), HasSubstr(key_path_));
    EXPECT_THAT(key.status().message(), HasSubstr("malformed"));
    // The key never appears in the message.
    EXPECT_THAT(key.status().message(), testing::Not(HasSubstr("AAECAwQF")));
    // A malformed file is left alone, not replaced by a new key.
    EXPECT_EQ(ReadFile(), content);
  }
}

TEST_F(FileSealTest, DataDirThatIsAFileIsRefused) {
  std::ofstream(root_ + "/file") << "x";
  auto key = NewFileSeal(root_ + "/file")->Unseal();
  EXPECT_FALSE(key.ok());
}

class MasterKeyTest : public testing::Test {
 protected:
  void SetUp() override {
    std::vector<uint8_t> raw(32);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i);
    auto key = MasterKey::Create("mk-1", raw);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::move(*key);
  }
  std::unique_ptr<MasterKey> key_;
};

TEST_F(MasterKeyTest, CreateRejectsBadInput) {
  EXPECT_EQ(MasterKey::Create("id", std::vector<uint8_t>(16)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MasterKey::Create("id", std::vector<uint8_t>(33)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MasterKey::Create("", std::vector<uint8_t>(32)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MasterKeyTest, RoundTripsAndLayout) {
  for (size_t len : {0, 1, 16, 32, 100}) {
    std::vector<uint8_t> pt(len, 0xab);
    auto sealed = key_->Encrypt(pt, Bytes("aad"));
    ASSERT_TRUE(sealed.ok());
    // docs/formats/material.md §1: nonce(12) || ciphertext || tag(16).
    EXPECT_EQ(sealed->size(), 12 + len + 16);
    auto opened = key_->Decrypt(*sealed, Bytes("aad"));
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(ToVector(*opened), pt);
  }
}

TEST_F(MasterKeyTest, FreshNoncePerCall) {
  auto a = key_->Encrypt(Bytes("same"), {});
  auto b = key_->Encrypt(Bytes("same"), {});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(std::vector<uint8_t>(a->begin(), a->begin() + 12),
            std::vector<uint8_t>(b->begin(), b->begin() + 12));
  EXPECT_NE(*a, *b);
}

void ExpectDecryptionFailed(const absl::StatusOr<SecretBytes>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "decryption failed");
}

TEST_F(MasterKeyTest, EveryFlippedByteFails) {
  auto sealed = key_->Encrypt(Bytes("a 32-byte AES key goes here....."),
                              Bytes("instance|key|version"));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::vector<uint8_t> bad = *sealed;
    bad[i] ^= 0x01;
    SCOPED_TRACE(i);
    ExpectDecryptionFailed(key_->Decrypt(bad, Bytes("instance|key|version")));
  }
}

TEST_F(MasterKeyTest, EveryTruncationFails) {
  auto sealed = key_->Encrypt(Bytes("material"), Bytes("aad"));
  ASSERT_TRUE(sealed.ok());
  for (size_t len = 0; len < sealed->size(); ++len) {
    SCOPED_TRACE(len);
    ExpectDecryptionFailed(key_->Decrypt(
        std::span<const uint8_t>(sealed->data(), len), Bytes("aad")));
  }
}

TEST_F(MasterKeyTest, WrongAadFails) {
  auto sealed = key_->Encrypt(Bytes("material"), Bytes("instance|key|v1"));
  ASSERT_TRUE(sealed.ok());
  ExpectDecryptionFailed(key_->Decrypt(*sealed, Bytes("instance|key|v2")));
  ExpectDecryptionFailed(key_->Decrypt(*sealed, {}));
}

TEST_F(MasterKeyTest, WrongKeyFails) {
  auto sealed = key_->Encrypt(Bytes("material"), {});
  ASSERT_TRUE(sealed.ok());
  auto other = MasterKey::Create("mk-2", std::vector<uint8_t>(32, 7));
  ASSERT_TRUE(other.ok());
  ExpectDecryptionFailed((*other)->Decrypt(*sealed, {}));
}

}  // namespace
}  // namespace keywarden::seal

namespace keywarden::seal {
namespace {

TEST(MasterKeySlotTest, EmptySlotAnswersSealed) {
  MasterKey slot;
  EXPECT_TRUE(slot.sealed());
  EXPECT_EQ(slot.id(), "");
  absl::StatusOr<std::vector<uint8_t>> enc = slot.Encrypt(Bytes("x"), {});
  EXPECT_TRUE(IsSealedError(enc.status())) << enc.status();
  EXPECT_TRUE(absl::IsUnavailable(enc.status()));
  EXPECT_TRUE(IsSealedError(slot.Decrypt(Bytes(std::string(40, 'a')), {}).status()));
  // Other failures are not "sealed".
  EXPECT_FALSE(IsSealedError(absl::UnavailableError("store down")));
}

TEST(MasterKeySlotTest, InstallWipeInstallKeepsOldCiphertextsReadable) {
  MasterKey slot;
  const SecretBytes key = crypto::RandomSecret(32);
  ASSERT_TRUE(slot.Install("mk-1", key.span()).ok());
  EXPECT_FALSE(slot.sealed());
  std::vector<uint8_t> sealed = *slot.Encrypt(Bytes("material"), Bytes("aad"));
  slot.Wipe();
  EXPECT_TRUE(slot.sealed());
  EXPECT_EQ(slot.id(), "mk-1");  // kept: not secret, and stable for rows
  EXPECT_TRUE(IsSealedError(slot.Decrypt(sealed, Bytes("aad")).status()));
  EXPECT_TRUE(IsSealedError(slot.Encrypt(Bytes("m"), {}).status()));
  ASSERT_TRUE(slot.Install("mk-1", key.span()).ok());
  EXPECT_EQ(ToVector(*slot.Decrypt(sealed, Bytes("aad"))), Bytes("material"));
}

TEST(MasterKeySlotTest, InstallRefusesBadKeysAndKeepsTheSlotAsItWas) {
  MasterKey slot;
  EXPECT_FALSE(slot.Install("mk-1", crypto::RandomSecret(16).span()).ok());
  EXPECT_FALSE(slot.Install("", crypto::RandomSecret(32).span()).ok());
  EXPECT_TRUE(slot.sealed());
}

TEST(MasterKeySlotTest, WipeWhileOtherThreadsEncryptIsSafe) {
  MasterKey slot;
  const SecretBytes key = crypto::RandomSecret(32);
  ASSERT_TRUE(slot.Install("mk-1", key.span()).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, sealed{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        absl::StatusOr<std::vector<uint8_t>> s = slot.Encrypt(Bytes("m"), {});
        if (s.ok()) {
          absl::StatusOr<SecretBytes> d = slot.Decrypt(*s, {});
          if (d.ok() || IsSealedError(d.status())) {
            ++ok;
          } else {
            ++other;
          }
        } else if (IsSealedError(s.status())) {
          ++sealed;
        } else {
          ++other;
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    slot.Wipe();
    ASSERT_TRUE(slot.Install("mk-1", key.span()).ok());
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load() + sealed.load(), 0);
}

TEST(MasterKeySlotTest, RekeyHoldsBothKeysAndDecryptsByTheRowsId) {
  MasterKey slot;
  ASSERT_TRUE(slot.Install("mk-1", crypto::RandomSecret(32).span()).ok());
  const std::vector<uint8_t> old_row =
      *slot.Encrypt(Bytes("old material"), Bytes("aad"));
  ASSERT_TRUE(
      slot.AddKey("mk-2", crypto::RandomSecret(32).span(), true).ok());
  EXPECT_EQ(slot.id(), "mk-2");
  EXPECT_THAT(slot.ids(), testing::ElementsAre("mk-2", "mk-1"));
  const std::vector<uint8_t> new_row =
      *slot.Encrypt(Bytes("new material"), Bytes("aad"));
  EXPECT_EQ(ToVector(*slot.Decrypt("mk-1", old_row, Bytes("aad"))),
            Bytes("old material"));
  EXPECT_EQ(ToVector(*slot.Decrypt("mk-2", new_row, Bytes("aad"))),
            Bytes("new material"));
  // The id picks the key: a row under the other key does not open.
  EXPECT_FALSE(slot.Decrypt("mk-2", old_row, Bytes("aad")).ok());

  slot.RetireKey("mk-2");  // the current key is never retired
  slot.RetireKey("mk-1");
  EXPECT_THAT(slot.ids(), testing::ElementsAre("mk-2"));
  absl::StatusOr<SecretBytes> gone = slot.Decrypt("mk-1", old_row, Bytes("aad"));
  EXPECT_TRUE(absl::IsFailedPrecondition(gone.status())) << gone.status();
}

TEST(MasterKeySlotTest, AnUnknownIdAsksTheResolverOnce) {
  MasterKey slot;
  const SecretBytes next = crypto::RandomSecret(32);
  ASSERT_TRUE(slot.Install("mk-1", crypto::RandomSecret(32).span()).ok());
  MasterKey elsewhere;
  ASSERT_TRUE(elsewhere.Install("mk-2", next.span()).ok());
  const std::vector<uint8_t> row = *elsewhere.Encrypt(Bytes("m"), Bytes("a"));
  int asked = 0;
  slot.set_resolver([&](std::string_view id) -> absl::Status {
    ++asked;
    if (id != "mk-2") return absl::NotFoundError("unknown");
    return slot.AddKey("mk-2", next.span(), true);
  });
  EXPECT_EQ(ToVector(*slot.Decrypt("mk-2", row, Bytes("a"))), Bytes("m"));
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(slot.Decrypt("mk-2", row, Bytes("a")).ok());
  EXPECT_EQ(asked, 1);  // held now
  EXPECT_FALSE(slot.Decrypt("mk-9", row, Bytes("a")).ok());
  EXPECT_EQ(asked, 2);
}

TEST_F(FileSealTest, StagedKeyIsPromotedOverMasterKey) {
  std::unique_ptr<Seal> seal = NewFileSeal(data_dir_);
  auto first = seal->Unseal();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(absl::IsNotFound(seal->LoadStaged().status()));
  EXPECT_TRUE(absl::IsNotFound(seal->PromoteStaged()));

  const SecretBytes next = crypto::RandomSecret(32);
  const std::string next_id = NewUuid();
  ASSERT_TRUE(seal->StageNext(next_id, next.span()).ok());
  // Staging again (a resumed rekey) replaces the staged file.
  ASSERT_TRUE(seal->StageNext(next_id, next.span()).ok());
  struct stat st;
  ASSERT_EQ(::stat((key_path_ + ".next").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(key_path_ + ".next.tmp"));
  EXPECT_EQ((*seal->Unseal())->id(), (*first)->id());  // untouched so far
  EXPECT_EQ((*seal->LoadStaged())->id(), next_id);

  ASSERT_TRUE(seal->PromoteStaged().ok());
  EXPECT_EQ((*seal->Unseal())->id(), next_id);
  EXPECT_FALSE(fs::exists(key_path_ + ".next"));
  EXPECT_NE(ReadFile().find(next_id), std::string::npos);
}

}  // namespace
}  // namespace keywarden::seal
