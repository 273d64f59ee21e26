#include "keywarden/server/config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace keywarden::server {
namespace {

TEST(ConfigTest, ParseListen) {
  Config c;
  ASSERT_TRUE(ParseListen("0.0.0.0:9000", c).ok());
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  ASSERT_TRUE(ParseListen("[::1]:0", c).ok());
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_FALSE(ParseListen("nohost", c).ok());
  EXPECT_FALSE(ParseListen("h:70000", c).ok());
}

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/kwcfgXXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  FILE* f = fdopen(fd, "w");
  fputs(text.c_str(), f);
  fclose(f);
  return path;
}

TEST(ConfigTest, FileSetsTimersAndRejectsUnknownKeys) {
  Config c;
  std::string path = WriteTemp(
      "data_dir = \"/var/lib/kw\"\n"
      "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 3\naccess_log = false\n"
      "[timers]\nrotation_interval = \"10s\"\n");
  absl::Status loaded = LoadConfigFile(path, c);
  ASSERT_TRUE(loaded.ok()) << loaded;
  EXPECT_EQ(c.data_dir, "/var/lib/kw");
  EXPECT_EQ(c.threads, 3);
  EXPECT_FALSE(c.access_log);
  EXPECT_EQ(c.timers.rotation_interval, absl::Seconds(10));
  std::remove(path.c_str());

  std::string bad = WriteTemp("[server]\nlistn = \"x\"\n");
  absl::Status s = LoadConfigFile(bad, c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("server.listn"), std::string::npos);
  std::remove(bad.c_str());
}

TEST(ConfigTest, EnvironmentOverrides) {
  Config c;
  setenv("KEYWARDEN_TIMER_STATE_CHANGE_COOLDOWN", "2s", 1);
  setenv("KEYWARDEN_THREADS", "2", 1);
  ASSERT_TRUE(ApplyEnvironment(c).ok());
  EXPECT_EQ(c.timers.state_change_cooldown, absl::Seconds(2));
  EXPECT_EQ(c.threads, 2);
  setenv("KEYWARDEN_THREADS", "-1", 1);
  EXPECT_FALSE(ApplyEnvironment(c).ok());
  unsetenv("KEYWARDEN_THREADS");
  unsetenv("KEYWARDEN_TIMER_STATE_CHANGE_COOLDOWN");
}

TEST(ConfigTest, KmipListenerFromTomlNeedsItsCertificate) {
  Config c;
  EXPECT_TRUE(c.kmip_listen.empty());
  std::string path = WriteTemp(
      "[kmip]\nlisten = \"127.0.0.1:5696\"\ntls_cert = \"/k.crt\"\n");
  ASSERT_TRUE(LoadConfigFile(path, c).ok());
  std::remove(path.c_str());
  EXPECT_EQ(c.kmip_listen, "127.0.0.1:5696");
  EXPECT_EQ(c.kmip_tls_cert, "/k.crt");
  // A listener without its key is refused before anything starts.
  EXPECT_FALSE(Validate(c).ok());
  c.kmip_tls_key = "/k.key";
  EXPECT_TRUE(Validate(c).ok());
  path = WriteTemp("[kmip]\nlisten = \"no-port\"\n");
  Config bad;
  EXPECT_FALSE(LoadConfigFile(path, bad).ok());
  std::remove(path.c_str());
}

TEST(ConfigTest, KmipThreadsFromTomlAndEnvironmentAreBounded) {
  Config c;
  EXPECT_EQ(c.kmip_threads, 2);  // the listener's default before the setting
  std::string path = WriteTemp("[kmip]\nthreads = 1\n");
  ASSERT_TRUE(LoadConfigFile(path, c).ok());
  std::remove(path.c_str());
  EXPECT_EQ(c.kmip_threads, 1);

  setenv("KEYWARDEN_KMIP_THREADS", "0", 1);  // 0: one per core
  ASSERT_TRUE(ApplyEnvironment(c).ok());
  EXPECT_EQ(c.kmip_threads, 0);
  // A bad value is refused with the setting's name and leaves the last one.
  for (const char* bad : {"-1", "1025", "two", ""}) {
    setenv("KEYWARDEN_KMIP_THREADS", bad, 1);
    absl::Status s = ApplyEnvironment(c);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("KEYWARDEN_KMIP_THREADS"), std::string::npos)
        << s;
    EXPECT_EQ(c.kmip_threads, 0) << bad;
  }
  unsetenv("KEYWARDEN_KMIP_THREADS");

  path = WriteTemp("[kmip]\nthreads = 100000\n");
  Config big;
  EXPECT_FALSE(LoadConfigFile(path, big).ok());
  EXPECT_EQ(big.kmip_threads, 2);
  std::remove(path.c_str());
}

TEST(ConfigTest, HardeningSettingsDefaultToStrict) {
  Config c;
  EXPECT_FALSE(c.allow_core_dumps);
  EXPECT_TRUE(c.metrics_listen.empty());
  EXPECT_FALSE(c.webhooks_allow_http);
  EXPECT_FALSE(c.webhooks_allow_private);
  std::string path = WriteTemp(
      "[server]\nmetrics_listen = \"127.0.0.1:9464\"\nallow_core_dumps = true\n"
      "auth_failures_per_minute = 7\n"
      "[webhooks]\nallow_http = true\nallow_private = true\n");
  absl::Status loaded = LoadConfigFile(path, c);
  ASSERT_TRUE(loaded.ok()) << loaded;
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9464");
  EXPECT_TRUE(c.allow_core_dumps);
  EXPECT_EQ(c.auth_failures_per_minute, 7);
  EXPECT_TRUE(c.webhooks_allow_http);
  EXPECT_TRUE(c.webhooks_allow_private);
  EXPECT_TRUE(Validate(c).ok());
  std::remove(path.c_str());

  setenv("KEYWARDEN_METRICS_LISTEN", "no-port", 1);
  absl::Status s = ApplyEnvironment(c);
  EXPECT_NE(s.message().find("KEYWARDEN_METRICS_LISTEN"), std::string::npos)
      << s;
  unsetenv("KEYWARDEN_METRICS_LISTEN");
  c.auth_failures_per_minute = 0;
  EXPECT_FALSE(Validate(c).ok());
}

TEST(ConfigTest, ValidateNeedsBothTlsFiles) {
  Config c;
  c.tls_cert = "cert.pem";
  EXPECT_FALSE(Validate(c).ok());
  c.tls_key = "key.pem";
  EXPECT_TRUE(Validate(c).ok());
}

}  // namespace
}  // namespace keywarden::server

namespace keywarden::server {
namespace {

TEST(ConfigTest, SealSettingsFromFileAndValidation) {
  Config c;
  EXPECT_EQ(c.seal, "file");
  std::string path = WriteTemp(
      "[seal]\ntype = \"pkcs11\"\npkcs11_module = \"/usr/lib/softhsm/libsofthsm2.so\"\n"
      "pkcs11_token = \"kw\"\npkcs11_key = \"master-wrap\"\n"
      "pkcs11_pin_file = \"/etc/keywarden/pin\"\n");
  ASSERT_TRUE(LoadConfigFile(path, c).ok());
  EXPECT_EQ(c.seal, "pkcs11");
  EXPECT_EQ(c.pkcs11_token, "kw");
  EXPECT_EQ(c.pkcs11_key, "master-wrap");
  EXPECT_EQ(c.pkcs11_pin_file, "/etc/keywarden/pin");
  EXPECT_TRUE(Validate(c).ok());
  c.pkcs11_key.clear();
  EXPECT_NE(Validate(c).message().find("--pkcs11-key"), std::string::npos);
  std::remove(path.c_str());

  std::string bad = WriteTemp("[seal]\ntype = \"vault\"\n");
  EXPECT_FALSE(LoadConfigFile(bad, c).ok());
  std::remove(bad.c_str());
  Config shamir;
  setenv("KEYWARDEN_SEAL", "shamir", 1);
  ASSERT_TRUE(ApplyEnvironment(shamir).ok());
  unsetenv("KEYWARDEN_SEAL");
  EXPECT_EQ(shamir.seal, "shamir");
  EXPECT_TRUE(Validate(shamir).ok());
}

}  // namespace
}  // namespace keywarden::server
