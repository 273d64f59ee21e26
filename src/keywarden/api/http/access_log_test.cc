#include "keywarden/api/http/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace keywarden::api::http {
namespace {

std::string TempPath() {
  char path[] = "/tmp/kwaccessXXXXXX";
  int fd = mkstemp(path);
  close(fd);
  return path;
}

TEST(AccessLogTest, EveryLineArrivesWholeFromManyThreads) {
  std::string path = TempPath();
  int fd = open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  constexpr int kThreads = 4, kLines = 5000;
  {
    AccessLog log(fd, std::chrono::milliseconds(5));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kLines; ++i) {
          log.Write("{\"thread\":" + std::to_string(t) + ",\"i\":" +
                    std::to_string(i) + "}");
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // destruction flushes
  close(fd);
  std::ifstream in(path);
  std::string line;
  std::set<std::string> seen;
  int count = 0;
  while (std::getline(in, line)) {
    ++count;
    ASSERT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
    ASSERT_NE(line.find("Z\",\"level\":\"info\",\"event\":{\"thread\":"),
              std::string::npos)
        << line;
    ASSERT_EQ(line.back(), '}');
    seen.insert(line.substr(line.find("\"event\":")));
  }
  EXPECT_EQ(count, kThreads * kLines);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kLines));
  unlink(path.c_str());
}

TEST(AccessLogTest, IdleBuffersAreFlushedByTheFlusher) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  AccessLog log(fds[1], std::chrono::milliseconds(10));
  log.Write("{\"one\":1}");
  char buf[256];
  ssize_t n = read(fds[0], buf, sizeof buf);  // blocks until the flusher runs
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(buf, n).find("{\"one\":1}}\n"), std::string::npos);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace keywarden::api::http
