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

TEST(FormatAccessEventTest, NamesWhoWhatWhichKeyAndOutcome) {
  AccessEvent e;
  e.correlation_id = "c-1";
  e.method = "POST";
  e.op = "unwrap_key";
  e.principal = "user-alice";
  e.instance = "3f1c0a4e-0000-4000-8000-000000000001";
  e.key = "9d2b6e1a-0000-4000-8000-000000000002";
  e.remote = "10.1.2.3";
  e.status = 200;
  e.duration_us = 42;
  EXPECT_EQ(FormatAccessEvent(e),
            "{\"msg\":\"access\",\"correlation_id\":\"c-1\","
            "\"method\":\"POST\",\"op\":\"unwrap_key\","
            "\"principal\":\"user-alice\","
            "\"instance\":\"3f1c0a4e-0000-4000-8000-000000000001\","
            "\"key\":\"9d2b6e1a-0000-4000-8000-000000000002\","
            "\"remote\":\"10.1.2.3\",\"status\":200,\"duration_us\":42}");
}

TEST(FormatAccessEventTest, OmitsEmptyFieldsAndEscapesHostileIds) {
  AccessEvent e;
  e.op = "get_key";
  e.key = "a\"}\n{\"forged\":\"\\";
  e.status = 401;
  std::string line = FormatAccessEvent(e);
  EXPECT_EQ(line,
            "{\"msg\":\"access\",\"op\":\"get_key\","
            "\"key\":\"a\\\"}\\u000a{\\\"forged\\\":\\\"\\\\\","
            "\"status\":401,\"duration_us\":0}");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find("principal"), std::string::npos);
}

}  // namespace
}  // namespace keywarden::api::http
