// `keywarden kms-plugin`: the gRPC server on a Unix socket, its socket file
// and its signals. The KMS logic is in kms_plugin.cc.
#include "keywarden/integrations/k8s_kms/kms_plugin_command.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/client/errors.h"
#include "keywarden/client/transport.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"
#include "keywarden/integrations/k8s_kms/kms_plugin.h"
#include "keywarden/integrations/k8s_kms/kms_v2.grpc.pb.h"

namespace keywarden::integrations::k8s_kms {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  grpc::StatusCode code;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: code = grpc::INVALID_ARGUMENT; break;
    case absl::StatusCode::kFailedPrecondition: code = grpc::FAILED_PRECONDITION; break;
    case absl::StatusCode::kNotFound: code = grpc::NOT_FOUND; break;
    case absl::StatusCode::kPermissionDenied: code = grpc::PERMISSION_DENIED; break;
    case absl::StatusCode::kUnauthenticated: code = grpc::UNAUTHENTICATED; break;
    case absl::StatusCode::kUnavailable: code = grpc::UNAVAILABLE; break;
    case absl::StatusCode::kDeadlineExceeded: code = grpc::DEADLINE_EXCEEDED; break;
    case absl::StatusCode::kResourceExhausted: code = grpc::RESOURCE_EXHAUSTED; break;
    default: code = grpc::INTERNAL; break;
  }
  return grpc::Status(code, std::string(s.message()));
}

// The gRPC face of KmsPlugin: copies bytes in and out, nothing else.
class Service final : public v2::KeyManagementService::Service {
 public:
  explicit Service(KmsPlugin& plugin) : plugin_(plugin) {}

  grpc::Status Status(grpc::ServerContext*, const v2::StatusRequest*,
                      v2::StatusResponse* out) override {
    StatusAnswer a = plugin_.Status();
    out->set_version("v2");
    out->set_healthz(a.healthz);
    out->set_key_id(a.key_id);
    return grpc::Status::OK;
  }

  grpc::Status Encrypt(grpc::ServerContext*, const v2::EncryptRequest* in,
                       v2::EncryptResponse* out) override {
    SecretBytes plaintext(
        reinterpret_cast<const uint8_t*>(in->plaintext().data()),
        in->plaintext().size());
    auto a = plugin_.Encrypt(plaintext);
    if (!a.ok()) return ToGrpc(a.status());
    out->set_ciphertext(std::move(a->ciphertext));
    out->set_key_id(std::move(a->key_id));
    for (auto& [k, v] : a->annotations) (*out->mutable_annotations())[k] = v;
    return grpc::Status::OK;
  }

  grpc::Status Decrypt(grpc::ServerContext*, const v2::DecryptRequest* in,
                       v2::DecryptResponse* out) override {
    Annotations annotations(in->annotations().begin(), in->annotations().end());
    auto plaintext = plugin_.Decrypt(in->ciphertext(), in->key_id(), annotations);
    if (!plaintext.ok()) return ToGrpc(plaintext.status());
    out->set_plaintext(reinterpret_cast<const char*>(plaintext->data()),
                       plaintext->size());
    return grpc::Status::OK;
  }

 private:
  KmsPlugin& plugin_;
};

struct Flags {
  std::string listen;
  std::string addr;
  std::string instance;
  std::string key;
  std::string apikey_file;
  std::string cacert;
  std::string socket_mode = "0600";
  std::string resource_crn;
  std::string cluster_name;
  int health_cache_seconds = 5;
  int concurrency = 16;
  bool insecure = false;
};

void Fail(std::string_view message) {
  std::fprintf(stderr, "keywarden kms-plugin: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

absl::StatusOr<std::string> ReadApiKey(const Flags& f) {
  std::string key;
  if (!f.apikey_file.empty()) {
    struct stat st;
    if (::stat(f.apikey_file.c_str(), &st) != 0) {
      return absl::InvalidArgumentError(
          AbslView(StrCat("cannot read the API key file ", f.apikey_file)));
    }
    if ((st.st_mode & 077) != 0) {
      return absl::InvalidArgumentError(AbslView(StrCat(
          "the API key file ", f.apikey_file,
          " is readable by group or others: chmod 600 it")));
    }
    // Read straight into the string that goes to the transport (which
    // wipes it), not through a stream buffer that would keep a copy.
    std::FILE* in = std::fopen(f.apikey_file.c_str(), "re");
    if (in == nullptr) {
      return absl::InvalidArgumentError(
          AbslView(StrCat("cannot read the API key file ", f.apikey_file)));
    }
    std::setvbuf(in, nullptr, _IONBF, 0);  // no stdio buffer holding a copy
    key.resize(4096);
    key.resize(std::fread(key.data(), 1, key.size(), in));
    std::fclose(in);
  } else if (const char* env = std::getenv("KEYWARDEN_APIKEY")) {
    key = env;
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' ||
                          key.back() == ' ')) {
    key.pop_back();
  }
  if (key.empty()) {
    return absl::InvalidArgumentError(
        "no API key: pass --apikey-file or set KEYWARDEN_APIKEY");
  }
  return key;
}

// Refuses to start over a live plugin (gRPC would unlink its socket) or a
// file that is not a socket; removes a stale socket.
absl::Status PrepareSocketPath(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return absl::OkStatus();
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        AbslView(StrCat(path, " exists and is not a socket")));
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool live =
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (live) {
    return absl::FailedPreconditionError(
        AbslView(StrCat(path, " is in use by a running process")));
  }
  ::unlink(path.c_str());
  return absl::OkStatus();
}

int Run(const Flags& f) {
  constexpr std::string_view kUnix = "unix://";
  if (!std::string_view(f.listen).starts_with(kUnix) ||
      f.listen.size() <= kUnix.size() || f.listen[kUnix.size()] != '/') {
    Fail("--listen must be unix:///absolute/path.sock");
    return 2;
  }
  const std::string path = f.listen.substr(kUnix.size());
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    Fail("the socket path is too long");
    return 2;
  }
  char* end = nullptr;
  const long mode = std::strtol(f.socket_mode.c_str(), &end, 8);
  if (end == f.socket_mode.c_str() || *end != '\0' || mode < 0 || mode > 0777) {
    Fail("--socket-mode must be octal, like 0600");
    return 2;
  }
  if (f.health_cache_seconds < 0) {
    Fail("--health-cache must be 0 or more seconds");
    return 2;
  }
  if (f.concurrency < 1 || f.concurrency > 1024) {
    Fail("--concurrency must be 1-1024");
    return 2;
  }
  auto apikey = ReadApiKey(f);
  if (!apikey.ok()) {
    Fail(StdView(apikey.status().message()));
    return 2;
  }
  client::TransportOptions topts;
  topts.http.ca_file = f.cacert;
  topts.http.insecure = f.insecure;
  topts.http.timeout = std::chrono::seconds(10);
  topts.max_idle_connections = static_cast<size_t>(f.concurrency);
  auto transport = client::Transport::Create(
      f.addr, client::Credentials{*std::move(apikey), ""}, std::move(topts));
  if (!transport.ok()) {
    Fail(StdView(transport.status().message()));
    return 2;
  }
  client::KeyProtectClient kp(**transport, f.instance);

  PluginOptions options;
  options.key_id = f.key;
  options.health_cache = absl::Seconds(f.health_cache_seconds);
  options.resource_crn = f.resource_crn;
  if (options.resource_crn.empty()) {
    std::string cluster = f.cluster_name;
    if (cluster.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      cluster = host[0] != '\0' ? host : "cluster";
    }
    options.resource_crn =
        StrCat("crn:v1:keywarden:private:containers-kubernetes:local:a/",
               f.instance, ":", cluster, "::");
  }
  SystemClock clock;
  KmsPlugin plugin(kp, options, clock);
  if (absl::Status s = plugin.Register(); !s.ok()) {
    // Not fatal: a disabled key cannot take registrations, and Status
    // retries after the key works again.
    std::fprintf(stderr,
                 "keywarden kms-plugin: cannot register %s yet: %s\n",
                 client::Printable(options.resource_crn).c_str(),
                 std::string(s.message()).c_str());
  }

  // Signals are taken by sigwait below; block them before gRPC starts its
  // threads so that none of those receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::Status s = PrepareSocketPath(path); !s.ok()) {
    Fail(StdView(s.message()));
    return 1;
  }
  Service service(plugin);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(f.listen, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(64 * 1024);
  // The sync server's threads wait for calls ("pollers"); one that takes a
  // call starts another when none is left waiting, and one that finishes a
  // call exits when max_pollers already wait. gRPC's default (1 to 2) makes
  // every burst of concurrent calls start and end threads: measured, a
  // third of the plugin's CPU per call at 8 concurrent callers
  // (docs/performance.md). Up to `concurrency` threads stay.
  builder.SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS, f.concurrency);
  // The socket must never be wider than asked, not even for an instant: it
  // is created under a umask that leaves only the owner, then set to mode.
  const mode_t old_umask = ::umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ::umask(old_umask);
  if (server == nullptr) {
    Fail(StrCat("cannot listen on ", f.listen));
    return 1;
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    Fail(StrCat("cannot set the mode of ", path, ": ", std::strerror(errno)));
    server->Shutdown();
    ::unlink(path.c_str());
    return 1;
  }
  std::fprintf(stderr, "keywarden kms-plugin: listening on %s (key %s)\n",
               f.listen.c_str(), client::Printable(f.key).c_str());
  std::fflush(stderr);

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "keywarden kms-plugin: stopping (signal %d)\n", sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  ::unlink(path.c_str());
  return 0;
}

}  // namespace

void AddKmsPluginCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "kms-plugin", "Kubernetes KMS v2 plugin (gRPC on a Unix socket)");
  cmd->add_option("--listen", flags->listen, "unix:///path/kms.sock")
      ->required();
  cmd->add_option("--addr", flags->addr, "Keywarden URL")->required();
  cmd->add_option("--instance", flags->instance, "Key Protect instance id")
      ->required();
  cmd->add_option("--key", flags->key, "Root key id or alias")->required();
  cmd->add_option("--apikey-file", flags->apikey_file,
                  "File holding the service id's API key (else "
                  "$KEYWARDEN_APIKEY)");
  cmd->add_option("--cacert", flags->cacert, "PEM CA file for https");
  cmd->add_flag("--insecure", flags->insecure,
                "Skip TLS verification (tests only)");
  cmd->add_option("--socket-mode", flags->socket_mode,
                  "Octal mode of the socket (default 0600)");
  cmd->add_option("--resource-crn", flags->resource_crn,
                  "CRN registered with the key (default: from the instance "
                  "and --cluster-name)");
  cmd->add_option("--cluster-name", flags->cluster_name,
                  "Cluster name in the default CRN (default: host name)");
  cmd->add_option("--health-cache", flags->health_cache_seconds,
                  "Seconds a Status probe is reused (default 5)");
  cmd->add_option("--concurrency", flags->concurrency,
                  "Calls served at once without starting a thread or a "
                  "connection to the server (default 16)");
  cmd->callback([flags, &exit_code] { exit_code = Run(*flags); });
}

}  // namespace keywarden::integrations::k8s_kms
