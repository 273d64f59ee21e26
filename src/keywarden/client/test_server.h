#ifndef KEYWARDEN_CLIENT_TEST_SERVER_H_
#define KEYWARDEN_CLIENT_TEST_SERVER_H_

// For tests only: the real `keywarden server` binary as a child process on
// 127.0.0.1 port 0, with a fresh data dir, the test clock and a known
// bootstrap token; the address is read from its "listening on" log line.
// TenantTest is the fixture that the client's and the integrations' tests
// share over it.

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/client/transport.h"

namespace keywarden::client::testing {

class ServerProcess {
 public:
  // Starts `binary` and waits (up to 60 s) for it to listen.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary);
  ~ServerProcess();  // SIGTERM, wait, remove the data dir

  const std::string& url() const { return url_; }
  const std::string& admin_token() const { return admin_token_; }

  // A transport authenticated with the bootstrap (administrator) token.
  std::unique_ptr<Transport> AdminTransport() const;

  // Creates what an integration needs: an instance, and a service id of
  // `service_type` with an API key, authorized Reader on the instance.
  struct Tenant {
    std::string instance;
    std::string service_id;
    std::string apikey;
  };
  absl::StatusOr<Tenant> CreateTenant(const std::string& service_type) const;

  // Moves the server's clock forward (POST /_test/clock/advance).
  absl::Status AdvanceClock(int seconds) const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  std::string data_dir_;
  std::string url_;
  std::string admin_token_;
  std::thread drain_;  // reads the log so that the server never blocks on it
};

// A GoogleTest fixture: one server for the suite (starting one costs a
// second under ASan, so not one per test), and for each test a tenant of its
// own, so that tests do not see each other's keys: an instance, a service id
// of type ServiceType() (kubernetes unless a suite overrides it) with an API
// key and Reader on it, a client as the
// administrator (admin_) and one as the service id (service_), and a root
// key named "root" (root_), created by the administrator.
class TenantTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  virtual std::string ServiceType() const { return "kubernetes"; }

  static ServerProcess* server_;
  ServerProcess::Tenant tenant_;
  std::unique_ptr<Transport> admin_transport_, service_transport_;
  std::unique_ptr<KeyProtectClient> admin_, service_;
  Key root_;
};

}  // namespace keywarden::client::testing

#endif  // KEYWARDEN_CLIENT_TEST_SERVER_H_
