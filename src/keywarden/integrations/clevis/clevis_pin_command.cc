// `keywarden clevis-pin wrap|unwrap`: stdin, stdout, the API key and the
// transport. The pin's logic is in clevis_pin.cc.
#include "keywarden/integrations/clevis/clevis_pin_command.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/client/api_key.h"
#include "keywarden/client/errors.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/client/transport.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"
#include "keywarden/integrations/clevis/clevis_pin.h"

namespace keywarden::integrations::clevis {
namespace {

// A status that is the caller's mistake (exit 2), not the server's answer.
struct Failure {
  absl::Status status;
  int exit_code;
};

int Report(const absl::Status& s, int code) {
  const std::string msg = client::Printable(StdView(s.message()));
  std::fprintf(stderr, "keywarden clevis-pin: %s\n", msg.c_str());
  std::fflush(stderr);
  return code;
}

// Reads all of stdin (at most kMaxInputBytes) without a stdio buffer, so
// that the only copy of a JWK is the returned string, which the caller
// wipes.
absl::StatusOr<std::string> ReadStdin() {
  std::string in(kMaxInputBytes + 1, '\0');
  size_t n = 0;
  while (n < in.size()) {
    const ssize_t r = ::read(STDIN_FILENO, in.data() + n, in.size() - n);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      WipeString(in);
      return absl::InvalidArgumentError("cannot read stdin");
    }
    n += static_cast<size_t>(r);
  }
  if (n > kMaxInputBytes) {
    WipeString(in);
    return absl::InvalidArgumentError(AbslView(
        StrCat("the input on stdin is larger than ", kMaxInputBytes, " bytes")));
  }
  in.resize(n);  // shrinking keeps the allocation: WipeString clears it all
  return in;
}

// Writes `text` to stdout with write(2): no stdio buffer keeps a copy.
absl::Status WriteStdout(std::string_view text) {
  while (!text.empty()) {
    const ssize_t w = ::write(STDOUT_FILENO, text.data(), text.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError("cannot write stdout");
    }
    text.remove_prefix(static_cast<size_t>(w));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<client::Transport>> Connect(
    const std::string& url, const std::string& apikey_file,
    const std::string& cacert) {
  // The file named in the configuration, else $KEYWARDEN_APIKEY.
  auto apikey = client::ReadApiKey(
      apikey_file,
      "set \"apikey_file\" in the configuration, or KEYWARDEN_APIKEY");
  if (!apikey.ok()) return apikey.status();
  client::TransportOptions o;
  o.http.ca_file = cacert;
  o.http.timeout = std::chrono::seconds(10);
  o.http.user_agent = "keywarden-clevis-pin/0.1";
  o.max_idle_connections = 1;
  return client::Transport::Create(
      url, client::Credentials{*std::move(apikey), ""}, std::move(o));
}

int Wrap(const std::string& config_json) {
  auto config = ParsePinConfig(config_json);
  if (!config.ok()) return Report(config.status(), 2);
  auto jwk = ReadStdin();
  if (!jwk.ok()) return Report(jwk.status(), 2);
  auto cek = CekOfJwk(*jwk);
  WipeString(*jwk);
  if (!cek.ok()) return Report(cek.status(), 2);
  auto transport = Connect(config->url, config->apikey_file, config->cacert);
  if (!transport.ok()) return Report(transport.status(), 2);
  client::KeyProtectClient kp(**transport, config->instance);
  auto header = WrapCek(kp, *config, *cek);
  if (!header.ok()) {
    return Report(absl::Status(header.status().code(),
                               AbslView(StrCat("cannot wrap with key ",
                                               client::Printable(config->key),
                                               ": ",
                                               StdView(header.status().message())))),
                  1);
  }
  if (absl::Status s = WriteStdout(FormatPinHeader(*header)); !s.ok()) {
    return Report(s, 1);
  }
  return 0;
}

int Unwrap() {
  auto text = ReadStdin();
  if (!text.ok()) return Report(text.status(), 2);
  auto header = ParsePinHeader(*text);
  if (!header.ok()) return Report(header.status(), 2);
  auto transport = Connect(header->url, header->apikey_file, header->cacert);
  if (!transport.ok()) return Report(transport.status(), 2);
  client::KeyProtectClient kp(**transport, header->instance);
  auto cek = UnwrapCek(kp, *header);
  if (!cek.ok()) {
    return Report(absl::Status(cek.status().code(),
                               AbslView(StrCat("cannot unwrap with key ",
                                               client::Printable(header->key),
                                               " at ", client::Printable(header->url),
                                               ": ",
                                               StdView(cek.status().message())))),
                  1);
  }
  std::string jwk = JwkOfCek(*cek);
  absl::Status s = WriteStdout(jwk);
  WipeString(jwk);
  return s.ok() ? 0 : Report(s, 1);
}

}  // namespace

void AddClevisPinCommand(CLI::App& app, int& exit_code) {
  CLI::App* pin = app.add_subcommand(
      "clevis-pin",
      "The Clevis pin's calls (run by clevis-encrypt-keywarden and "
      "clevis-decrypt-keywarden)");
  pin->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  CLI::App* wrap = pin->add_subcommand(
      "wrap", "Wrap the JWK on stdin; print the JWE header's keywarden member");
  wrap->add_option("--config", *config,
                   "The pin configuration JSON (url, instance, key, "
                   "apikey_file, cacert, crn)")
      ->required();
  wrap->callback([config, &exit_code] { exit_code = Wrap(*config); });
  CLI::App* unwrap = pin->add_subcommand(
      "unwrap", "Unwrap the JWE header's keywarden member on stdin; print the JWK");
  unwrap->callback([&exit_code] { exit_code = Unwrap(); });
}

}  // namespace keywarden::integrations::clevis
