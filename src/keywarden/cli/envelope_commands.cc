// keywarden encrypt | decrypt: envelope encryption of files and pipes
// (client/envelope.h, docs/formats/envelope.md,
// docs/integrations/object-storage.md). This file is the command-line face:
// options, credentials, files, the progress bar; the format and the calls
// to the server are in client/.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keywarden/cli/command_support.h"
#include "keywarden/client/envelope.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/client/transport.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

// Inputs at least this large get a progress bar (on a terminal); smaller
// ones finish before a bar would be worth drawing.
constexpr uint64_t kProgressMinBytes = 16 << 20;

struct EnvelopeFlags {
  std::string instance;
  std::string key;
  std::vector<std::string> aad;
  std::string register_crn;
  std::string cacert;
  std::string in;
  std::string out;
  bool no_progress = false;
};

absl::Status IoError(std::string_view what, std::string_view path) {
  return absl::UnavailableError(AbslView(
      StrCat(what, " ", Printable(path), ": ", std::strerror(errno))));
}

class FdSource : public client::ByteSource {
 public:
  FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    for (;;) {
      const ssize_t n = ::read(fd_, out.data(), out.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return IoError("cannot read", name_);
    }
  }

 private:
  int fd_;
  std::string name_;
};

class FdSink : public client::ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  absl::Status Write(std::span<const uint8_t> bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("cannot write", name_);
      }
      bytes = bytes.subspan(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string name_;
};

// The temporary file being written, for the signal handler to remove: a
// decrypt cut short by Ctrl-C leaves no plaintext behind either.
char g_partial_path[PATH_MAX];

void RemovePartialAndDie(int sig) {
  if (g_partial_path[0] != '\0') ::unlink(g_partial_path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// OUT as a file that appears only complete: the data goes to a temporary
// file (mode 0600) in OUT's directory, which Commit() syncs and renames over
// OUT; anything else removes it.
class AtomicOutput {
 public:
  static absl::StatusOr<std::unique_ptr<AtomicOutput>> Create(
      const std::string& path) {
    const size_t slash = path.rfind('/');
    const std::string dir =
        slash == std::string::npos ? "." : path.substr(0, slash + 1);
    const std::string base =
        slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty() || base == "." || base == "..") {
      return UsageError(StrCat("OUT must name a file, not ", Printable(path)));
    }
    std::string temp =
        StrCat(slash == std::string::npos ? "" : dir, ".", base, ".kw-XXXXXX");
    if (temp.size() >= sizeof g_partial_path) {
      return UsageError("the OUT path is too long");
    }
    const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
    if (fd < 0) return IoError("cannot create a file in", dir);
    std::memcpy(g_partial_path, temp.c_str(), temp.size() + 1);
    ::signal(SIGINT, RemovePartialAndDie);
    ::signal(SIGTERM, RemovePartialAndDie);
    ::signal(SIGHUP, RemovePartialAndDie);
    ::signal(SIGPIPE, RemovePartialAndDie);
    return std::unique_ptr<AtomicOutput>(
        new AtomicOutput(fd, std::move(temp), path));
  }

  ~AtomicOutput() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
    g_partial_path[0] = '\0';
  }

  client::ByteSink& sink() { return sink_; }

  absl::Status Commit() {
    if (::fsync(fd_) != 0) return IoError("cannot write", path_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      return IoError("cannot write", path_);
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      return IoError("cannot rename the output to", path_);
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  AtomicOutput(int fd, std::string temp, std::string path)
      : fd_(fd), temp_(std::move(temp)), path_(std::move(path)),
        sink_(fd, path_) {}
  int fd_;
  std::string temp_;
  std::string path_;
  FdSink sink_;
  bool committed_ = false;
};

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB",
                static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// A one-line bar on stderr, redrawn at most ten times a second. `total` is
// 0 when unknown (a pipe): then only the bytes done are shown.
class ProgressBar {
 public:
  explicit ProgressBar(uint64_t total) : total_(total) {}
  ~ProgressBar() {
    if (drawn_) std::fputc('\n', stderr);
  }
  void Update(uint64_t done, bool force = false) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) {
      return;
    }
    last_ = now;
    drawn_ = true;
    std::string line = StrCat("\r", Mib(done));
    if (total_ > 0) {
      constexpr int kWidth = 30;
      const uint64_t shown = done > total_ ? total_ : done;
      const int filled = static_cast<int>(shown * kWidth / total_);
      StrAppend(&line, " / ", Mib(total_), " [", std::string(filled, '#'),
                std::string(kWidth - filled, ' '), "] ",
                shown * 100 / total_, "%");
    }
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

 private:
  uint64_t total_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

// A bar when stderr is a terminal and the input is large or of unknown size.
std::unique_ptr<ProgressBar> MaybeProgress(int in_fd, bool disabled) {
  if (disabled || !::isatty(STDERR_FILENO)) return nullptr;
  struct stat st;
  uint64_t total = 0;
  if (::fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode)) {
    total = static_cast<uint64_t>(st.st_size);
    if (total < kProgressMinBytes) return nullptr;
  }
  return std::make_unique<ProgressBar>(total);
}

// Credentials: --token, else $KEYWARDEN_APIKEY (a service id's API key,
// exchanged for tokens as needed), else $KEYWARDEN_TOKEN.
absl::StatusOr<std::unique_ptr<client::Transport>> TransportFor(
    const GlobalOptions& g, const EnvelopeFlags& f) {
  KW_ASSIGN_OR_RETURN(net::Endpoint endpoint, ResolveEndpoint(g));
  client::Credentials credentials;
  const char* apikey = std::getenv("KEYWARDEN_APIKEY");
  const char* token = std::getenv("KEYWARDEN_TOKEN");
  if (!g.token.empty()) {
    credentials.token = g.token;
  } else if (apikey != nullptr && apikey[0] != '\0') {
    credentials.apikey = apikey;
  } else if (token != nullptr && token[0] != '\0') {
    credentials.token = token;
  } else {
    return absl::UnauthenticatedError(
        "no credentials: set KEYWARDEN_APIKEY (a service id's API key) or "
        "KEYWARDEN_TOKEN");
  }
  client::TransportOptions options;
  options.http = HttpOptionsOf(g);
  options.http.ca_file = f.cacert;
  options.max_idle_connections = 1;
  return std::make_unique<client::Transport>(
      std::move(endpoint), std::move(credentials), std::move(options));
}

// The input: a file, or stdin for "-".
struct Input {
  int fd = -1;
  bool owned = false;
  ~Input() {
    if (owned) ::close(fd);
  }
};

absl::Status OpenInput(const std::string& path, Input& in) {
  if (path == "-") {
    in.fd = STDIN_FILENO;
    return absl::OkStatus();
  }
  in.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) return IoError("cannot open", path);
  in.owned = true;
  return absl::OkStatus();
}

using Operation = std::function<absl::Status(
    client::KeyProtectClient&, client::ByteSource&, client::ByteSink&,
    const client::EnvelopeProgress&)>;

// Runs `op` from IN to OUT with the transport, the files and the bar.
absl::Status RunEnvelope(const GlobalOptions& g, const EnvelopeFlags& f,
                         bool decrypting, const Operation& op) {
  if (f.instance.empty()) return UsageError("--instance is required");
  if (f.out == "-" && !decrypting && ::isatty(STDOUT_FILENO)) {
    return UsageError(
        "refusing to write ciphertext to a terminal: give OUT or redirect "
        "stdout");
  }
  KW_ASSIGN_OR_RETURN(std::unique_ptr<client::Transport> transport,
                      TransportFor(g, f));
  client::KeyProtectClient kp(*transport, f.instance);
  Input in;
  KW_RETURN_IF_ERROR(OpenInput(f.in, in));
  FdSource source(in.fd, f.in == "-" ? "stdin" : f.in);
  std::unique_ptr<ProgressBar> bar = MaybeProgress(in.fd, f.no_progress);
  const client::EnvelopeProgress progress = [&bar](uint64_t done) {
    if (bar) bar->Update(done);
  };

  if (f.out == "-") {
    FdSink sink(STDOUT_FILENO, "stdout");
    absl::Status s = op(kp, source, sink, progress);
    if (!s.ok() && decrypting) {
      return absl::Status(
          s.code(),
          AbslView(StrCat(StdView(s.message()),
                          " (what was written to stdout is incomplete: "
                          "discard it)")));
    }
    return s;
  }
  KW_ASSIGN_OR_RETURN(std::unique_ptr<AtomicOutput> out,
                      AtomicOutput::Create(f.out));
  KW_RETURN_IF_ERROR(op(kp, source, out->sink(), progress));
  return out->Commit();
}

CLI::App* AddEnvelopeCommand(CLI::App& app, const std::string& name,
                             const std::string& description, int& exit_code,
                             std::shared_ptr<EnvelopeFlags> f,
                             std::function<absl::Status(const GlobalOptions&)>
                                 body) {
  CLI::App* cmd = AddCommand(&app, name, description, exit_code,
                             std::move(body), /*with_token=*/true);
  // The data goes to OUT (or stdout): there is no output format to choose.
  cmd->remove_option(cmd->get_option("--output"));
  // No saved login here: an integration authenticates as its service id.
  cmd->get_option("--token")->description(
      "Bearer token (else $KEYWARDEN_APIKEY, a service id's API key, else "
      "$KEYWARDEN_TOKEN)");
  cmd->add_option("--instance", f->instance,
                  "Key Protect instance id (Bluemix-Instance)")
      ->required();
  cmd->add_option("--aad", f->aad,
                  name == "encrypt"
                      ? "name=value bound to the object (repeatable); decrypt "
                        "--aad checks it"
                      : "name=value the object must carry (repeatable; all "
                        "of its pairs must be given)")
      // One value per --aad, so that IN and OUT are not taken as values.
      ->allow_extra_args(false)
      ->take_all();
  cmd->add_option("--cacert", f->cacert,
                  "PEM CA file for an https server the system store does not "
                  "know");
  cmd->add_flag("--no-progress", f->no_progress,
                "No progress bar (one is drawn on a terminal for inputs of "
                "16 MiB or more)");
  cmd->add_option("IN", f->in, "Input file, or - for stdin")->required();
  cmd->add_option("OUT", f->out, "Output file, or - for stdout")->required();
  return cmd;
}

}  // namespace

void AddEnvelopeCommands(CLI::App& app, int& exit_code) {
  auto e = std::make_shared<EnvelopeFlags>();
  CLI::App* encrypt = AddEnvelopeCommand(
      app, "encrypt",
      "Envelope-encrypt a file or stream with a root key (credentials: "
      "KEYWARDEN_APIKEY or KEYWARDEN_TOKEN)",
      exit_code, e, [e](const GlobalOptions& g) -> absl::Status {
        client::EncryptOptions options;
        options.key = e->key;
        options.register_crn = e->register_crn;
        auto aad = client::ParseEnvelopeAad(e->aad);
        if (!aad.ok()) return UsageError(StdView(aad.status().message()));
        options.aad = *std::move(aad);
        return RunEnvelope(
            g, *e, /*decrypting=*/false,
            [&options](client::KeyProtectClient& kp, client::ByteSource& in,
                       client::ByteSink& out,
                       const client::EnvelopeProgress& progress) {
              options.progress = progress;
              return client::EncryptObject(kp, options, in, out).status();
            });
      });
  encrypt->add_option("--key", e->key, "Root key id or alias")->required();
  encrypt->add_option("--register", e->register_crn,
                      "Register this resource CRN (bucket or object) with "
                      "the key (service ids only)");

  auto d = std::make_shared<EnvelopeFlags>();
  AddEnvelopeCommand(
      app, "decrypt",
      "Decrypt what `keywarden encrypt` wrote; the key is named in its "
      "header (credentials: KEYWARDEN_APIKEY or KEYWARDEN_TOKEN)",
      exit_code, d, [d](const GlobalOptions& g) -> absl::Status {
        client::DecryptOptions options;
        if (!d->aad.empty()) {
          auto aad = client::ParseEnvelopeAad(d->aad);
          if (!aad.ok()) return UsageError(StdView(aad.status().message()));
          options.expected_aad = *std::move(aad);
        }
        return RunEnvelope(
            g, *d, /*decrypting=*/true,
            [&options](client::KeyProtectClient& kp, client::ByteSource& in,
                       client::ByteSink& out,
                       const client::EnvelopeProgress& progress) {
              options.progress = progress;
              return client::DecryptObject(kp, options, in, out).status();
            });
      });
}

}  // namespace keywarden::cli
