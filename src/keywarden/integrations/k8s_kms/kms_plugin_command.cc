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
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/client/api_key.h"
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

// The threads that run the plugin's calls. gRPC's callback API reads a
// request and calls its handler on one of its own few threads, which must
// not block; a call to the plugin blocks on HTTP, so the handler hands it
// here and a worker finishes the call. `threads` is --concurrency: calls
// beyond it wait in the queue, up to kMaxQueued; past that Submit refuses
// (the call ends RESOURCE_EXHAUSTED at once rather than after the
// apiserver's timeout). Thread-safe; the destructor runs what is queued,
// then joins. Start fails (no threads to be had) with Unavailable.
class Workers {
 public:
  static absl::StatusOr<std::unique_ptr<Workers>> Start(int threads) {
    auto w = std::unique_ptr<Workers>(new Workers());
    try {
      for (int i = 0; i < threads; ++i) {
        w->threads_.emplace_back([p = w.get()] { p->Run(); });
      }
    } catch (const std::system_error& e) {
      return absl::UnavailableError(
          AbslView(StrCat("cannot start ", threads, " threads: ", e.what())));
    }  // ~Workers joins those that started
    return w;
  }
  ~Workers() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (auto& t : threads_) t.join();
  }
  static constexpr size_t kMaxQueued = 4096;

  bool Submit(std::function<void()> work) {
    absl::MutexLock lock(&mu_);
    if (queue_.size() >= kMaxQueued) return false;
    queue_.push_back(std::move(work));
    return true;
  }

 private:
  Workers() = default;

  void Run() {
    while (true) {
      std::function<void()> work;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Workers* w) { return w->stopping_ || !w->queue_.empty(); },
            this));
        if (queue_.empty()) return;  // stopping, and nothing left
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      work();
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// The gRPC face of KmsPlugin: copies bytes in and out, nothing else. Each
// call runs on a worker (see Workers), which finishes it; the request and
// response stay valid until then (gRPC's callback API contract).
class Service final : public v2::KeyManagementService::CallbackService {
 public:
  Service(KmsPlugin& plugin, Workers& workers)
      : plugin_(plugin), workers_(workers) {}

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx,
                                   const v2::StatusRequest*,
                                   v2::StatusResponse* out) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Run(reactor, [this, reactor, out] {
      StatusAnswer a = plugin_.Status();
      out->set_version("v2");
      out->set_healthz(a.healthz);
      out->set_key_id(a.key_id);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Encrypt(grpc::CallbackServerContext* ctx,
                                    const v2::EncryptRequest* in,
                                    v2::EncryptResponse* out) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Run(reactor, [this, reactor, in, out] {
      SecretBytes plaintext(
          reinterpret_cast<const uint8_t*>(in->plaintext().data()),
          in->plaintext().size());
      auto a = plugin_.Encrypt(plaintext);
      if (!a.ok()) return reactor->Finish(ToGrpc(a.status()));
      out->set_ciphertext(std::move(a->ciphertext));
      out->set_key_id(std::move(a->key_id));
      for (auto& [k, v] : a->annotations) (*out->mutable_annotations())[k] = v;
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Decrypt(grpc::CallbackServerContext* ctx,
                                    const v2::DecryptRequest* in,
                                    v2::DecryptResponse* out) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Run(reactor, [this, reactor, in, out] {
      Annotations annotations(in->annotations().begin(),
                              in->annotations().end());
      auto plaintext =
          plugin_.Decrypt(in->ciphertext(), in->key_id(), annotations);
      if (!plaintext.ok()) return reactor->Finish(ToGrpc(plaintext.status()));
      out->set_plaintext(reinterpret_cast<const char*>(plaintext->data()),
                         plaintext->size());
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  void Run(grpc::ServerUnaryReactor* reactor, std::function<void()> work) {
    if (!workers_.Submit(std::move(work))) {
      reactor->Finish(grpc::Status(grpc::RESOURCE_EXHAUSTED,
                                   "too many calls waiting: try again"));
    }
  }

  KmsPlugin& plugin_;
  Workers& workers_;
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
  auto apikey = client::ReadApiKey(
      f.apikey_file, "pass --apikey-file or set KEYWARDEN_APIKEY");
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
  // The workers outlive the server: they finish the calls it has started.
  auto workers = Workers::Start(f.concurrency);
  if (!workers.ok()) {
    Fail(StdView(workers.status().message()));
    return 1;
  }
  Service service(plugin, **workers);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(f.listen, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(64 * 1024);
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
                  "Calls served at once (worker threads), and keep-alive "
                  "connections kept to the server (default 16)");
  cmd->callback([flags, &exit_code] { exit_code = Run(*flags); });
}

}  // namespace keywarden::integrations::k8s_kms
