#include "keywarden/server/hardening.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace keywarden::server {
namespace {

std::string TempDir() {
  char path[] = "/tmp/kwhardenXXXXXX";
  EXPECT_NE(mkdtemp(path), nullptr);
  return path;
}

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(PreparePrivateDataDirTest, CreatesAMissingDirectoryPrivate) {
  std::string parent = TempDir();
  std::string dir = parent + "/data";
  ASSERT_TRUE(PreparePrivateDataDir(dir).ok());
  EXPECT_EQ(ModeOf(dir), 0700u);
  rmdir(dir.c_str());
  rmdir(parent.c_str());
}

TEST(PreparePrivateDataDirTest, RefusesADirectoryOthersCanReach) {
  std::string dir = TempDir();
  for (mode_t mode : {0755, 0750, 0701, 0710, 0707}) {
    ASSERT_EQ(chmod(dir.c_str(), mode), 0);
    absl::Status s = PreparePrivateDataDir(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_NE(s.message().find("chmod 700"), std::string::npos) << s;
  }
  ASSERT_EQ(chmod(dir.c_str(), 0700), 0);
  EXPECT_TRUE(PreparePrivateDataDir(dir).ok());
  rmdir(dir.c_str());
}

TEST(PreparePrivateDataDirTest, NarrowsDatabaseFilesOfAnEarlierVersion) {
  std::string dir = TempDir();
  for (const char* name : {"/keywarden.db", "/keywarden.db-wal"}) {
    std::string path = dir + name;
    int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    fchmod(fd, 0644);
    close(fd);
  }
  ASSERT_TRUE(PreparePrivateDataDir(dir).ok());
  EXPECT_EQ(ModeOf(dir + "/keywarden.db"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/keywarden.db-wal"), 0600u);
  unlink((dir + "/keywarden.db").c_str());
  unlink((dir + "/keywarden.db-wal").c_str());
  rmdir(dir.c_str());
}

TEST(PreparePrivateDataDirTest, RefusesAFile) {
  char path[] = "/tmp/kwhardenfileXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_FALSE(PreparePrivateDataDir(path).ok());
  unlink(path);
}

TEST(DisableCoreDumpsTest, NoCoreLimitAndNotDumpable) {
  ASSERT_TRUE(DisableCoreDumps().ok());
  EXPECT_FALSE(CoreDumpsEnabled());
  struct rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &rl), 0);
  EXPECT_EQ(rl.rlim_cur, 0u);
  EXPECT_EQ(rl.rlim_max, 0u);
  EXPECT_TRUE(DisableCoreDumps().ok());  // idempotent
}

TEST(ReadPrivateFileTest, ReadsAPrivateFileWithoutItsNewline) {
  const std::string path = TempDir() + "/pw";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "s3cret\n", 7), 7);
  ::close(fd);
  absl::StatusOr<std::string> pw = ReadPrivateFile(path);
  ASSERT_TRUE(pw.ok()) << pw.status();
  EXPECT_EQ(*pw, "s3cret");
}

TEST(ReadPrivateFileTest, RefusesAReadableOrMissingFileWithoutItsContents) {
  const std::string dir = TempDir();
  const std::string path = dir + "/pw";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "s3cret", 6), 6);
  ::close(fd);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  absl::StatusOr<std::string> pw = ReadPrivateFile(path);
  ASSERT_FALSE(pw.ok());
  EXPECT_EQ(pw.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(pw.status().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(pw.status().message().find("s3cret"), std::string::npos);
  EXPECT_FALSE(ReadPrivateFile(dir + "/missing").ok());
  EXPECT_FALSE(ReadPrivateFile(dir).ok());  // a directory
}

}  // namespace
}  // namespace keywarden::server
