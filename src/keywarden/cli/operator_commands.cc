// keywarden operator init|unseal|seal|status|rekey: the seal endpoints
// /admin/v1/seal (docs/admin-api.md "Seal", docs/operations.md "Seals").
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "keywarden/cli/command_support.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kStatusColumns[] = {{"SEAL", "type"},
                                     {"INITIALIZED", "initialized"},
                                     {"SEALED", "sealed"},
                                     {"PROGRESS", "progress"},
                                     {"THRESHOLD", "threshold"},
                                     {"SHARES", "shares"}};

struct RekeyCliOptions {
  int batch_size = -1;  // -1: not given
  int pause_ms = -1;
  bool status = false;
  bool wait = false;
  int shares = -1;  // shamir: the new share set; -1: the current one
  int threshold = -1;
  bool verify = false;
  bool cancel = false;
};

struct InitOptions {
  int shares = 5;
  int threshold = 3;
};

int64_t IntField(const json::value& v, std::string_view name) {
  const json::object* o = v.if_object();
  const json::value* f =
      o == nullptr ? nullptr : o->if_contains(json::string_view(name.data(), name.size()));
  return f != nullptr && f->is_int64() ? f->as_int64() : 0;
}

bool BoolField(const json::value& v, std::string_view name) {
  const json::object* o = v.if_object();
  const json::value* f =
      o == nullptr ? nullptr : o->if_contains(json::string_view(name.data(), name.size()));
  return f != nullptr && f->is_bool() && f->as_bool();
}

std::string StringField(const json::value& v, std::string_view name) {
  const json::object* o = v.if_object();
  const json::value* f =
      o == nullptr ? nullptr : o->if_contains(json::string_view(name.data(), name.size()));
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : "";
}

// One share from the terminal (echo off) or one line of stdin.
absl::StatusOr<std::string> ReadShare(
    const char* prompt = "Unseal share (input hidden): ") {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    std::fputs(prompt, stderr);
    std::fflush(stderr);
    if (::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputs("\n", stderr);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  if (line.empty()) {
    return UsageError("no share given: type one share, or pipe it on stdin");
  }
  return line;
}

void PrintProgress(const Session& s, const json::value& status) {
  if (s.format == OutputFormat::kJson) {
    Out(FormatJson(status));
    return;
  }
  if (!BoolField(status, "sealed")) {
    Out("Unsealed: the server is serving requests.\n");
    return;
  }
  Out(StrCat("Sealed: ", IntField(status, "progress"), " of ",
             IntField(status, "threshold"), " shares entered.\n"));
}

// The rekey part of GET /admin/v1/seal, for people.
void PrintRekey(const json::value& status) {
  const json::object* o = status.if_object();
  const json::value* rekey = o ? o->if_contains("rekey") : nullptr;
  if (rekey == nullptr) {
    Out(StrCat("No rekey in progress. Master key id: ",
               Printable(StringField(status, "keyId")), "\n"));
    return;
  }
  std::string line = StrCat(
      "Rekey in progress: from master key ",
      Printable(StringField(status, "keyId")), " to ",
      Printable(StringField(*rekey, "toKeyId")), ", ",
      IntField(*rekey, "remaining"), " sealed rows remaining.\n");
  if (const json::object* r = rekey->if_object();
      r != nullptr && r->if_contains("verified") != nullptr &&
      !BoolField(*rekey, "verified")) {
    StrAppend(&line,
              "Waiting for verification: ", IntField(*rekey, "verifyProgress"),
              " of ", IntField(*rekey, "threshold"),
              " new shares entered (`keywarden operator rekey --verify`); "
              "until then nothing is re-sealed and the old shares unseal.\n");
  }
  if (std::string error = StringField(*rekey, "error"); !error.empty()) {
    StrAppend(&line, "Last batch failed: ", Printable(error), "\n");
  }
  Out(line);
}

// Prints the shares of an init or a shamir rekey answer once, one per line
// as "<label> <n>: <share>", then the threshold, the master key id and
// `next_step`; the printed text is wiped.
absl::Status ShowShares(const json::value& answer, std::string_view label,
                        std::string_view key_label,
                        std::string_view next_step) {
  const json::object* o = answer.if_object();
  const json::value* shares = o ? o->if_contains("shares") : nullptr;
  if (shares == nullptr || !shares->is_array()) {
    return absl::InternalError("unexpected answer: no shares");
  }
  std::string text;
  int i = 1;
  for (const json::value& share : shares->get_array()) {
    if (!share.is_string()) continue;
    StrAppend(&text, label, " ", i++, ": ",
              Printable(std::string_view(share.as_string())), "\n");
  }
  StrAppend(&text, "\nThreshold: ", IntField(answer, "threshold"), " of ",
            i - 1, " shares. ", key_label, ": ",
            Printable(StringField(answer, "keyId")), "\n",
            "These shares are shown once and stored nowhere: give each to "
            "its keeper now.\n",
            next_step);
  Out(text);
  WipeString(text);
  return absl::OkStatus();
}

}  // namespace

void AddOperatorCommands(CLI::App& app, int& exit_code) {
  CLI::App* family = app.add_subcommand(
      "operator", "Seal operations: init, unseal, seal, status, rekey");
  family->require_subcommand(1);

  auto init = std::make_shared<InitOptions>();
  CLI::App* init_cmd = AddSessionCommand(
      family, "init",
      "Make the master key of a --seal shamir server and print its shares "
      "once (administrators)",
      exit_code, [init](const Session& s) -> absl::Status {
        json::value body = {{"shares", init->shares},
                            {"threshold", init->threshold}};
        auto answer = s.client.Call("POST", "/admin/v1/seal/init", &body);
        if (!answer.ok()) return answer.status();
        if (s.format == OutputFormat::kJson) {
          Out(FormatJson(*answer));
        } else {
          absl::Status shown = ShowShares(
              *answer, "Unseal share", "Master key id",
              StrCat("The server stays sealed until ",
                     IntField(*answer, "threshold"),
                     " of them are entered with `keywarden operator "
                     "unseal`.\n"));
          if (!shown.ok()) return shown;
        }
        return absl::OkStatus();
      });
  init_cmd->add_option("--shares", init->shares, "Number of shares (1-255)")
      ->required();
  init_cmd->add_option("--threshold", init->threshold,
                       "Shares needed to unseal (2..shares)")
      ->required();

  AddCommand(
      family, "unseal",
      "Enter one unseal share (read from the terminal or stdin); without a "
      "Shamir seal, unseal again after `operator seal` (administrators)",
      exit_code, [](const GlobalOptions& g) -> absl::Status {
        auto s = ResolveSession(g, /*needs_token=*/false);
        if (!s.ok()) return s.status();
        auto status = s->client.Call("GET", "/admin/v1/seal");
        if (!status.ok()) return status.status();
        json::value body = json::object();
        if (StringField(*status, "type") == "shamir") {
          if (!BoolField(*status, "sealed")) {
            PrintProgress(*s, *status);
            return absl::OkStatus();
          }
          absl::StatusOr<std::string> share = ReadShare();
          if (!share.ok()) return share.status();
          body = {{"share", *share}};
          WipeString(*share);
        }
        auto answer = s->client.Call("POST", "/admin/v1/seal/unseal", &body);
        if (json::string* v = body.as_object().if_contains("share")
                                  ? &body.as_object()["share"].as_string()
                                  : nullptr) {
          WipeMemory(v->data(), v->size());
        }
        if (!answer.ok()) return answer.status();
        PrintProgress(*s, *answer);
        return absl::OkStatus();
      });

  AddSessionCommand(family, "seal",
                    "Wipe the master key from the server's memory; every "
                    "API call answers 503 until unsealed (administrators)",
                    exit_code, [](const Session& s) -> absl::Status {
                      auto answer = s.client.Call("POST", "/admin/v1/seal/seal");
                      if (!answer.ok()) return answer.status();
                      if (s.format == OutputFormat::kJson) {
                        Out(FormatJson(*answer));
                      } else {
                        Out("Sealed: the master key is wiped from memory.\n");
                      }
                      return absl::OkStatus();
                    });

  AddCommand(family, "status", "Show the seal state (no token needed)",
             exit_code, [](const GlobalOptions& g) -> absl::Status {
               auto s = ResolveSession(g, /*needs_token=*/false);
               if (!s.ok()) return s.status();
               auto answer = s->client.Call("GET", "/admin/v1/seal");
               if (!answer.ok()) return answer.status();
               PrintResource(*s, *answer, kStatusColumns);
               if (s->format != OutputFormat::kJson) {
                 const json::object* o = answer->if_object();
                 if (o != nullptr && o->if_contains("rekey")) PrintRekey(*answer);
               }
               return absl::OkStatus();
             });

  auto rekey = std::make_shared<RekeyCliOptions>();
  CLI::App* rekey_cmd = AddSessionCommand(
      family, "rekey",
      "Make a new master key and re-seal every stored secret under it, "
      "online; resumes one in progress (administrators)",
      exit_code, [rekey](const Session& s) -> absl::Status {
        absl::StatusOr<json::value> answer;
        if (rekey->verify + rekey->cancel + rekey->status > 1) {
          return UsageError("--verify, --cancel and --status go alone");
        }
        if (rekey->verify) {
          absl::StatusOr<std::string> share =
              ReadShare("New unseal share of the rekey (input hidden): ");
          if (!share.ok()) return share.status();
          json::value body = {{"share", *share}};
          WipeString(*share);
          answer = s.client.Call("POST", "/admin/v1/seal/rekey-verify", &body);
          WipeMemory(body.as_object()["share"].as_string().data(),
                     body.as_object()["share"].as_string().size());
        } else if (rekey->cancel) {
          answer = s.client.Call("POST", "/admin/v1/seal/rekey-cancel");
        } else if (rekey->status) {
          answer = s.client.Call("GET", "/admin/v1/seal");
        } else {
          // Only what was given: a resume keeps the rekey's recorded
          // settings otherwise.
          json::value body = json::object();
          if (rekey->batch_size >= 0) {
            body.as_object()["batchSize"] = rekey->batch_size;
          }
          if (rekey->pause_ms >= 0) {
            body.as_object()["pauseMs"] = rekey->pause_ms;
          }
          if (rekey->shares >= 0) body.as_object()["shares"] = rekey->shares;
          if (rekey->threshold >= 0) {
            body.as_object()["threshold"] = rekey->threshold;
          }
          answer = s.client.Call("POST", "/admin/v1/seal/rekey", &body);
          if (answer.ok() && answer->is_object() &&
              answer->as_object().if_contains("seal") != nullptr) {
            // shamir: the new shares, shown once (as `operator init`).
            if (s.format == OutputFormat::kJson) {
              Out(FormatJson(*answer));
              return absl::OkStatus();
            }
            return ShowShares(
                *answer, "New unseal share", "New master key id",
                StrCat("Nothing is re-sealed, and the old shares keep "
                       "unsealing, until ",
                       IntField(*answer, "threshold"),
                       " of the new shares are entered with `keywarden "
                       "operator rekey --verify`.\n"));
          }
        }
        // --wait: poll until no rekey is in progress (or one waits for
        // its new shares, which polling cannot bring).
        auto waiting = [](const json::value& v) {
          const json::object* o = v.if_object();
          const json::value* r = o ? o->if_contains("rekey") : nullptr;
          if (r == nullptr) return false;
          const json::object* ro = r->if_object();
          return ro == nullptr || ro->if_contains("verified") == nullptr ||
                 BoolField(*r, "verified");
        };
        while (answer.ok() && rekey->wait && waiting(*answer)) {
          ::sleep(1);
          answer = s.client.Call("GET", "/admin/v1/seal");
        }
        if (!answer.ok()) return answer.status();
        if (rekey->verify && s.format != OutputFormat::kJson) {
          const json::value* r = answer->is_object()
                                     ? answer->as_object().if_contains("rekey")
                                     : nullptr;
          if (r == nullptr || BoolField(*r, "verified")) {
            Out("Verified: the new shares give the new master key; the rows "
                "are re-sealed under it, and after the finish only the new "
                "shares unseal.\n");
            return absl::OkStatus();
          }
        }
        if (s.format == OutputFormat::kJson) {
          Out(FormatJson(*answer));
        } else {
          PrintRekey(*answer);
        }
        return absl::OkStatus();
      });
  rekey_cmd->add_option("--batch-size", rekey->batch_size,
                        "Rows re-sealed per transaction (1-10000; default "
                        "100, or what the rekey in progress records)");
  rekey_cmd->add_option("--pause-ms", rekey->pause_ms,
                        "Pause between batches, to spare a busy database "
                        "(default 0, or what the rekey in progress records)");
  rekey_cmd->add_flag("--status", rekey->status,
                      "Only show the rekey's progress");
  rekey_cmd->add_flag("--wait", rekey->wait,
                      "Return when the rekey has finished");
  rekey_cmd->add_option("--shares", rekey->shares,
                        "shamir: number of new shares (default: as now)");
  rekey_cmd->add_option("--threshold", rekey->threshold,
                        "shamir: new shares needed to unseal (default: as "
                        "now)");
  rekey_cmd->add_flag("--verify", rekey->verify,
                      "shamir: enter one of the rekey's new shares (from "
                      "the terminal or stdin); T of them let it go on");
  rekey_cmd->add_flag("--cancel", rekey->cancel,
                      "shamir: discard a rekey whose new shares are not "
                      "verified yet");
}

}  // namespace keywarden::cli
