#include "keywarden/cli/kp_support.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

std::string EnvOrEmpty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

absl::StatusOr<KpSession> ResolveKp(const GlobalOptions& g,
                                    const std::string& instance_flag) {
  std::string instance = instance_flag;
  if (instance.empty()) instance = EnvOrEmpty("KP_INSTANCE_ID");
  if (instance.empty()) instance = EnvOrEmpty("KEYWARDEN_INSTANCE");
  if (instance.empty()) {
    return UsageError(
        "no instance: pass -i/--instance-ID or set KP_INSTANCE_ID");
  }
  KpSession s;
  s.format = g.output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  std::string apikey = EnvOrEmpty("KEYWARDEN_APIKEY");
  client::Transport* transport = nullptr;
  if (g.token.empty() && EnvOrEmpty("KEYWARDEN_TOKEN").empty() &&
      !apikey.empty()) {
    auto endpoint = ResolveEndpoint(g);
    if (!endpoint.ok()) {
      WipeString(apikey);
      return endpoint.status();
    }
    client::TransportOptions o;
    o.http = HttpOptionsOf(g);
    o.max_idle_connections = 1;
    s.transport = std::make_unique<client::Transport>(
        *std::move(endpoint),
        client::Credentials{std::move(apikey), ""}, std::move(o));
    transport = s.transport.get();
  } else {
    WipeString(apikey);
    auto session = ResolveSession(g, /*needs_token=*/true);
    if (!session.ok()) return session.status();
    s.token_from_cache = session->token_from_cache;
    s.session.emplace(*std::move(session));
    transport = &s.session->client.transport();
  }
  s.kp = std::make_unique<client::KeyProtectClient>(*transport,
                                                    std::move(instance));
  return s;
}

std::string TypeOf(const client::Key& k) {
  return k.extractable ? "standard" : "root";
}

}  // namespace

CLI::App* AddKpCommand(CLI::App* parent, const std::string& name,
                       const std::string& description, int& exit_code,
                       std::function<absl::Status(KpSession&)> body) {
  auto instance = std::make_shared<std::string>();
  CLI::App* cmd = AddCommand(
      parent, name, description, exit_code,
      [instance, body = std::move(body)](const GlobalOptions& g) {
        auto s = ResolveKp(g, *instance);
        if (!s.ok()) return s.status();
        absl::Status status = body(*s);
        if (s->token_from_cache &&
            status.code() == absl::StatusCode::kUnauthenticated) {
          return absl::Status(
              status.code(),
              AbslView(StrCat(StdView(status.message()),
                              " (the saved login was refused: run `keywarden "
                              "login` again)")));
        }
        return status;
      });
  cmd->add_option("-i,--instance-ID,--instance-id", *instance,
                  "The instance (Bluemix-Instance) (env KP_INSTANCE_ID, or "
                  "KEYWARDEN_INSTANCE)");
  return cmd;
}

void Emit(const KpSession& s, const json::value& json,
          const json::array& rows, std::span<const Column> columns) {
  Out(s.format == OutputFormat::kJson ? FormatJson(json)
                                      : FormatTable(columns, rows));
}

void EmitOne(const KpSession& s, const json::object& resource,
             std::span<const Column> columns, const json::object* row) {
  json::array rows;
  rows.emplace_back(row != nullptr ? *row : resource);
  Emit(s, resource, rows, columns);
}

void Confirm(const KpSession& s, std::string_view text) {
  if (s.format == OutputFormat::kTable) Out(StrCat(text, "\n"));
}

json::object KeyJson(const client::Key& k) {
  json::object o;
  o["id"] = k.id;
  o["name"] = k.name;
  if (!k.description.empty()) o["description"] = k.description;
  o["state"] = static_cast<int>(k.state);
  o["extractable"] = k.extractable;
  o["crn"] = k.crn;
  o["keyRingID"] = k.key_ring_id;
  if (!k.key_version_id.empty()) {
    o["keyVersion"] = json::object{{"id", k.key_version_id}};
  }
  o["creationDate"] = k.creation_date;
  if (!k.last_rotate_date.empty()) o["lastRotateDate"] = k.last_rotate_date;
  if (!k.aliases.empty()) {
    json::array a;
    for (const std::string& alias : k.aliases) a.emplace_back(alias);
    o["aliases"] = std::move(a);
  }
  return o;
}

json::object KeyRow(const client::Key& k) {
  json::object o = KeyJson(k);
  o["type"] = TypeOf(k);
  o["stateName"] = client::KeyStateName(k.state);
  o["version"] = k.key_version_id;
  return o;
}

absl::StatusOr<SecretBytes> ReadMaterial(const std::string& value,
                                         std::string_view flag) {
  std::string text;
  if (value == "-") {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
      text.append(buf, n);
      if (text.size() > 64 * 1024) break;
    }
    WipeMemory(buf, sizeof buf);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' ||
                             text.back() == ' ')) {
      text.pop_back();
    }
  } else {
    text = value;
  }
  auto bytes = client::SecretFromBase64(text);
  WipeString(text);
  if (!bytes.ok()) {
    return UsageError(StrCat(flag, " must be base64 (the value is not shown)"));
  }
  return bytes;
}

}  // namespace keywarden::cli
