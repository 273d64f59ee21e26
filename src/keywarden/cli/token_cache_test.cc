#include "keywarden/cli/token_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace keywarden::cli {
namespace {

namespace fs = std::filesystem;

class TokenCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kw-cli-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  static unsigned Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string root_;
};

CachedToken Sample() {
  return {"http://127.0.0.1:8080", "eyJ.secret.token", 1767229200};
}

TEST(TokenCachePathTest, XdgConfigHomeWinsWhenAbsolute) {
  EXPECT_EQ(*TokenCachePath("/x/cfg", "/home/u"), "/x/cfg/keywarden/token.json");
}

TEST(TokenCachePathTest, RelativeOrEmptyXdgFallsBackToHome) {
  EXPECT_EQ(*TokenCachePath("rel/cfg", "/home/u"),
            "/home/u/.config/keywarden/token.json");
  EXPECT_EQ(*TokenCachePath("", "/home/u"),
            "/home/u/.config/keywarden/token.json");
  EXPECT_EQ(*TokenCachePath(std::nullopt, "/home/u"),
            "/home/u/.config/keywarden/token.json");
}

TEST(TokenCachePathTest, NeitherSetIsFailedPrecondition) {
  EXPECT_TRUE(absl::IsFailedPrecondition(
      TokenCachePath(std::nullopt, std::nullopt).status()));
}

TEST_F(TokenCacheTest, SaveCreatesPrivateDirsAndFileAndLoadReadsItBack) {
  const std::string path = root_ + "/cfg/keywarden/token.json";
  ASSERT_TRUE(SaveToken(path, Sample()).ok());
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(Mode(root_ + "/cfg/keywarden"), 0700u);
  EXPECT_EQ(Mode(root_ + "/cfg"), 0700u);
  auto t = LoadToken(path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->addr, "http://127.0.0.1:8080");
  EXPECT_EQ(t->access_token, "eyJ.secret.token");
  EXPECT_EQ(t->expiration, 1767229200);
}

TEST_F(TokenCacheTest, SaveIgnoresUmaskAndTightensAnExistingDirectory) {
  fs::create_directories(root_ + "/keywarden");
  ::chmod((root_ + "/keywarden").c_str(), 0755);
  const mode_t old = ::umask(0);
  const auto s = SaveToken(root_ + "/keywarden/token.json", Sample());
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Mode(root_ + "/keywarden/token.json"), 0600u);
  EXPECT_EQ(Mode(root_ + "/keywarden"), 0700u);
}

TEST_F(TokenCacheTest, SaveReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  const std::string path = root_ + "/keywarden/token.json";
  ASSERT_TRUE(SaveToken(path, Sample()).ok());
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  CachedToken next = Sample();
  next.access_token = "second";
  next.expiration = 1767232800;
  ASSERT_TRUE(SaveToken(path, next).ok());
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  // A rename puts a new inode in place; an in-place rewrite would not.
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(LoadToken(path)->access_token, "second");
  EXPECT_EQ(Mode(path), 0600u);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(root_ + "/keywarden")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(TokenCacheTest, SaveReplacesAnOpenFileWithoutDisturbingItsReader) {
  const std::string path = root_ + "/keywarden/token.json";
  ASSERT_TRUE(SaveToken(path, Sample()).ok());
  std::ifstream reader(path);  // holds the old inode
  CachedToken next = Sample();
  next.access_token = "new";
  ASSERT_TRUE(SaveToken(path, next).ok());
  std::string old_content((std::istreambuf_iterator<char>(reader)), {});
  EXPECT_NE(old_content.find("eyJ.secret.token"), std::string::npos);
  EXPECT_EQ(LoadToken(path)->access_token, "new");
}

TEST_F(TokenCacheTest, SaveFailsWhenTheDirectoryIsAFile) {
  std::ofstream(root_ + "/keywarden") << "x";
  EXPECT_FALSE(SaveToken(root_ + "/keywarden/token.json", Sample()).ok());
}

TEST_F(TokenCacheTest, LoadMissingFileIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(LoadToken(root_ + "/none.json").status()));
}

TEST_F(TokenCacheTest, LoadRefusesAFileOthersCanRead) {
  const std::string path = root_ + "/keywarden/token.json";
  ASSERT_TRUE(SaveToken(path, Sample()).ok());
  ::chmod(path.c_str(), 0644);
  auto t = LoadToken(path);
  EXPECT_TRUE(absl::IsFailedPrecondition(t.status()));
  EXPECT_NE(t.status().message().find("0644"), absl::string_view::npos);
  // The message names the file, never the token.
  EXPECT_EQ(t.status().message().find("secret"), absl::string_view::npos);
}

TEST_F(TokenCacheTest, LoadRefusesGarbageAndWrongShapes) {
  const std::string path = root_ + "/token.json";
  for (const char* content :
       {"not json", "[]", R"({"addr":"a","access_token":"t"})",
        R"({"addr":"a","access_token":1,"expiration":1})",
        R"({"addr":"a","access_token":"t","expiration":"soon"})"}) {
    { std::ofstream(path, std::ios::trunc) << content; }
    ::chmod(path.c_str(), 0600);
    EXPECT_TRUE(absl::IsFailedPrecondition(LoadToken(path).status())) << content;
  }
}

TEST_F(TokenCacheTest, LoadDoesNotFollowSymlinks) {
  const std::string target = root_ + "/real.json";
  ASSERT_TRUE(SaveToken(target, Sample()).ok());
  fs::create_symlink(target, root_ + "/link.json");
  EXPECT_FALSE(LoadToken(root_ + "/link.json").ok());
}

TEST(ExpiredTest, ValidUntilTheSkewBeforeExpiration) {
  CachedToken t = Sample();
  const absl::Time exp = absl::FromUnixSeconds(t.expiration);
  EXPECT_FALSE(Expired(t, exp - absl::Hours(1)));
  EXPECT_FALSE(Expired(t, exp - kExpirySkew - absl::Seconds(1)));
  EXPECT_TRUE(Expired(t, exp - kExpirySkew));
  EXPECT_TRUE(Expired(t, exp));
  EXPECT_TRUE(Expired(t, exp + absl::Hours(1)));
}

}  // namespace
}  // namespace keywarden::cli
