#include "keywarden/seal/pkcs11_seal.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";
constexpr char kUtil[] = "/usr/bin/softhsm2-util";
constexpr char kPin[] = "pin-4711";

SecretBytes Pin(std::string_view pin) {
  return SecretBytes(reinterpret_cast<const uint8_t*>(pin.data()), pin.size());
}

std::vector<uint8_t> Bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// A SoftHSM2 token store of its own in a temp dir (SOFTHSM2_CONF), with one
// initialized token labelled "kw-test".
class Pkcs11SealTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kModule) || !fs::exists(kUtil)) {
      GTEST_SKIP() << "SoftHSM2 is not installed (" << kModule << ", " << kUtil
                   << "); scripts/deps.sh test installs Debian's softhsm2";
    }
    std::string tmpl = (fs::temp_directory_path() / "kw_p11_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "tokens");
    const fs::path conf = root_ / "softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << (root_ / "tokens").string()
                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    ASSERT_EQ(Run({kUtil, "--init-token", "--free", "--label", "kw-test",
                   "--pin", kPin, "--so-pin", "so-pin-0815"}),
              0);
  }
  void TearDown() override {
    if (!root_.empty()) {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }

  // Runs a command with its output discarded; returns its exit status.
  static int Run(std::vector<std::string> argv) {
    pid_t pid = ::fork();
    if (pid == 0) {
      std::freopen("/dev/null", "w", stdout);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  Pkcs11Options Options(bool create) {
    Pkcs11Options o;
    o.module = kModule;
    o.token_label = "kw-test";
    o.key_label = "keywarden-master-wrap";
    o.pin = Pin(kPin);
    o.create_key_if_missing = create;
    return o;
  }

  fs::path root_;
};

TEST_F(Pkcs11SealTest, WrapsAndUnwrapsWithAKeyItGeneratesInTheToken) {
  const SecretBytes master = crypto::RandomSecret(32);
  std::vector<uint8_t> wrapped;
  {
    absl::StatusOr<std::unique_ptr<KeyWrapper>> w =
        OpenPkcs11Wrapper(Options(/*create=*/true));
    ASSERT_TRUE(w.ok()) << w.status();
    absl::StatusOr<std::vector<uint8_t>> out =
        (*w)->Wrap(master.span(), Bytes("aad"));
    ASSERT_TRUE(out.ok()) << out.status();
    wrapped = *out;
    EXPECT_EQ(wrapped.size(), 12u + 32u + 16u);
  }
  // A new session (a restart) finds the key by label and opens the wrap.
  absl::StatusOr<std::unique_ptr<KeyWrapper>> w =
      OpenPkcs11Wrapper(Options(/*create=*/false));
  ASSERT_TRUE(w.ok()) << w.status();
  absl::StatusOr<SecretBytes> back = (*w)->Unwrap(wrapped, Bytes("aad"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == master);

  // Wrong aad, every flipped byte, every truncation: refused.
  EXPECT_FALSE((*w)->Unwrap(wrapped, Bytes("other")).ok());
  for (size_t i = 0; i < wrapped.size(); ++i) {
    std::vector<uint8_t> bad = wrapped;
    bad[i] ^= 0x01;
    EXPECT_FALSE((*w)->Unwrap(bad, Bytes("aad")).ok()) << i;
  }
  for (size_t n = 0; n < wrapped.size(); ++n) {
    EXPECT_FALSE((*w)->Unwrap(std::span(wrapped).first(n), Bytes("aad")).ok());
  }
  // Fresh IV per wrap.
  EXPECT_NE(*(*w)->Wrap(master.span(), Bytes("aad")),
            *(*w)->Wrap(master.span(), Bytes("aad")));
}

TEST_F(Pkcs11SealTest, MissingKeyIsRefusedUnlessCreationIsAllowed) {
  absl::StatusOr<std::unique_ptr<KeyWrapper>> w =
      OpenPkcs11Wrapper(Options(/*create=*/false));
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("no AES key labelled"));
}

TEST_F(Pkcs11SealTest, AnotherKeyDoesNotOpenTheWrap) {
  const SecretBytes master = crypto::RandomSecret(32);
  std::vector<uint8_t> wrapped;
  {
    auto w = *OpenPkcs11Wrapper(Options(true));
    wrapped = *w->Wrap(master.span(), {});
  }
  Pkcs11Options other = Options(true);
  other.key_label = "another-key";
  auto w = *OpenPkcs11Wrapper(other);
  EXPECT_FALSE(w->Unwrap(wrapped, {}).ok());
}

TEST_F(Pkcs11SealTest, WrongPinTokenOrModuleIsACleanError) {
  Pkcs11Options bad_pin = Options(true);
  bad_pin.pin = Pin("wrong-pin-1234");
  absl::Status s = OpenPkcs11Wrapper(bad_pin).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("C_Login"));
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-pin")));
  EXPECT_THAT(s.message(), Not(HasSubstr(kPin)));

  Pkcs11Options bad_token = Options(true);
  bad_token.token_label = "no-such-token";
  EXPECT_THAT(OpenPkcs11Wrapper(bad_token).status().message(),
              HasSubstr("no PKCS#11 token labelled no-such-token"));

  Pkcs11Options bad_module = Options(true);
  bad_module.module = (root_ / "softhsm2.conf").string();  // not a library
  EXPECT_THAT(OpenPkcs11Wrapper(bad_module).status().message(),
              HasSubstr("cannot load PKCS#11 module"));
  bad_module.module = "";
  EXPECT_TRUE(absl::IsInvalidArgument(OpenPkcs11Wrapper(bad_module).status()));
}

}  // namespace
}  // namespace keywarden::seal
