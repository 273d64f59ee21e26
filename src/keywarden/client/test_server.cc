#include "keywarden/client/test_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <regex>

#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

extern char** environ;

namespace keywarden::client::testing {
namespace {
namespace json = boost::json;

std::string Str(const json::value& v, std::string_view key) {
  const json::value* s = v.is_object() ? v.get_object().if_contains(key)
                                       : nullptr;
  if (s == nullptr || !s->is_string()) return "";
  return std::string(s->get_string().data(), s->get_string().size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& binary) {
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  char tmpl[] = "/tmp/kw_client_test_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  p->data_dir_ = tmpl;
  p->admin_token_ = StrCat("kw-client-test-", ::getpid(), "-",
                           std::chrono::steady_clock::now()
                               .time_since_epoch()
                               .count());
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("KEYWARDEN_")) continue;
    env_strings.emplace_back(*e);
  }
  env_strings.push_back("KEYWARDEN_ADMIN_TOKEN=" + p->admin_token_);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {binary,       "server",
                                   "--data-dir", p->data_dir_,
                                   "--listen",   "127.0.0.1:0",
                                   "--test-clock"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&p->pid_, binary.c_str(), &actions, nullptr,
                             argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    p->pid_ = -1;
    return absl::InternalError(StrCat("cannot start ", binary));
  }
  // Read the log until "listening on URL" (the server's first lines).
  FILE* log = fdopen(fds[0], "r");
  const std::regex listening(R"(listening on (https?://[0-9.:\[\]a-z]+))");
  char line[4096];
  std::string seen;
  while (std::fgets(line, sizeof line, log) != nullptr) {
    seen += line;
    std::cmatch m;
    if (std::regex_search(line, m, listening)) {
      p->url_ = m[1];
      break;
    }
  }
  if (p->url_.empty()) {
    std::fclose(log);
    return absl::InternalError(StrCat("the server did not start:\n", seen));
  }
  p->drain_ = std::thread([log] {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, log) != nullptr) {
    }
    std::fclose(log);
  });
  return p;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (drain_.joinable()) drain_.join();
  std::error_code ec;
  if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ec);
}

std::unique_ptr<Transport> ServerProcess::AdminTransport() const {
  Credentials c;
  c.token = admin_token_;
  return *Transport::Create(url_, std::move(c), TransportOptions{});
}

absl::StatusOr<ServerProcess::Tenant> ServerProcess::CreateTenant(
    const std::string& service_type) const {
  auto admin = AdminTransport();
  Tenant t;
  json::value body = json::object{{"name", "tenant"}};
  KW_ASSIGN_OR_RETURN(json::value instance,
                      admin->Call("POST", "/admin/v1/instances", &body,
                                  Idempotency::kNotIdempotent));
  t.instance = Str(instance, "id");
  body = json::object{{"name", "svc-" + service_type},
                      {"serviceType", service_type}};
  KW_ASSIGN_OR_RETURN(json::value principal,
                      admin->Call("POST", "/admin/v1/service_ids", &body,
                                  Idempotency::kNotIdempotent));
  t.service_id = Str(principal, "id");
  body = json::object{{"principalId", t.service_id}, {"name", "test"}};
  KW_ASSIGN_OR_RETURN(json::value key,
                      admin->Call("POST", "/admin/v1/api_keys", &body,
                                  Idempotency::kNotIdempotent));
  t.apikey = Str(key, "apikey");
  body = json::object{{"sourceServiceId", t.service_id},
                      {"instanceId", t.instance},
                      {"role", "Reader"}};
  KW_RETURN_IF_ERROR(admin->Call("POST", "/admin/v1/authorizations", &body,
                                 Idempotency::kNotIdempotent)
                         .status());
  return t;
}

ServerProcess* TenantTest::server_ = nullptr;

void TenantTest::SetUpTestSuite() {
  auto s = ServerProcess::Start(KEYWARDEN_BIN);
  ASSERT_TRUE(s.ok()) << s.status();
  server_ = s->release();
}

void TenantTest::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
}

void TenantTest::SetUp() {
  ASSERT_NE(server_, nullptr);
  auto t = server_->CreateTenant(ServiceType());
  ASSERT_TRUE(t.ok()) << t.status();
  tenant_ = *t;
  admin_transport_ = server_->AdminTransport();
  admin_ = std::make_unique<KeyProtectClient>(*admin_transport_,
                                              tenant_.instance);
  auto service = Transport::Create(
      server_->url(), Credentials{tenant_.apikey, ""}, TransportOptions{});
  ASSERT_TRUE(service.ok()) << service.status();
  service_transport_ = *std::move(service);
  service_ = std::make_unique<KeyProtectClient>(*service_transport_,
                                                tenant_.instance);
  CreateKeyRequest root;
  root.name = "root";
  auto key = admin_->CreateKey(root);
  ASSERT_TRUE(key.ok()) << key.status();
  root_ = *key;
}

absl::Status ServerProcess::AdvanceClock(int seconds) const {
  auto admin = AdminTransport();
  json::value body = json::object{{"seconds", seconds}};
  return admin
      ->Call("POST", "/_test/clock/advance", &body, Idempotency::kNotIdempotent)
      .status();
}

}  // namespace keywarden::client::testing
