// keywarden keys, keywarden key …: the key commands of `ibmcloud kp`
// (docs/cli-keys.md) on the typed client (client/key_protect.h).
#include <memory>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "keywarden/cli/kp_support.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kKeyListColumns[] = {{"ID", "id"},
                                      {"NAME", "name"},
                                      {"TYPE", "type"},
                                      {"STATE", "stateName"},
                                      {"KEY_RING", "keyRingID"},
                                      {"CREATED", "creationDate"}};

constexpr Column kKeyColumns[] = {{"ID", "id"},
                                  {"NAME", "name"},
                                  {"TYPE", "type"},
                                  {"STATE", "stateName"},
                                  {"KEY_RING", "keyRingID"},
                                  {"VERSION", "version"},
                                  {"ALIASES", "aliases"},
                                  {"CREATED", "creationDate"}};

constexpr Column kVersionColumns[] = {{"ID", "id"},
                                      {"CREATED", "creationDate"}};

constexpr Column kWrapColumns[] = {{"CIPHERTEXT", "ciphertext"},
                                   {"KEY_VERSION", "version"},
                                   {"PLAINTEXT", "plaintext"}};

constexpr Column kUnwrapColumns[] = {{"PLAINTEXT", "plaintext"},
                                     {"KEY_VERSION", "version"},
                                     {"REWRAPPED", "ciphertext"}};

constexpr Column kAliasColumns[] = {{"KEY_ID", "keyId"},
                                    {"ALIAS", "alias"},
                                    {"CREATED", "creationDate"},
                                    {"CREATED_BY", "createdBy"}};

constexpr Column kPolicyColumns[] = {{"POLICY", "policy"},
                                     {"ENABLED", "enabled"},
                                     {"INTERVAL_MONTH", "interval_month"}};

// The flags of key create and key rotate that carry material.
struct MaterialOptions {
  std::string material;         // -k: base64; with -n/-v: already sealed
  std::string encrypted_nonce;  // -n
  std::string iv;               // -v
  bool import_token = false;    // -t: seal -k for the instance's token
};

struct KeyOptions {
  std::string id;
  std::string name;
  std::string description;
  std::string key_ring;
  bool standard = false;
  bool force = false;
  std::vector<std::string> aliases;
  std::vector<std::string> aad;
  std::string text;  // plaintext or ciphertext
  std::string alias;
  MaterialOptions m;
};

void AddMaterialOptions(CLI::App* cmd, MaterialOptions& m) {
  cmd->add_option("-k,--key-material", m.material,
                  "Key material, base64 (\"-\": read it from stdin); with "
                  "-n and -v, the material already sealed for the import "
                  "token");
  cmd->add_flag("-t,--import-token", m.import_token,
                "Seal -k for the instance's import token here and send "
                "only the sealed form (a secure import; see import-token)");
  cmd->add_option("-n,--encrypted-nonce", m.encrypted_nonce,
                  "The import token's nonce encrypted with the material "
                  "(base64)");
  cmd->add_option("-v,--iv", m.iv, "The IV of -n (base64)");
}

// Which kind of import the flags ask for.
absl::Status CheckMaterial(const MaterialOptions& m) {
  const bool sealed = !m.encrypted_nonce.empty() || !m.iv.empty();
  if (sealed && (m.encrypted_nonce.empty() || m.iv.empty())) {
    return UsageError("-n/--encrypted-nonce and -v/--iv go together");
  }
  if ((sealed || m.import_token) && m.material.empty()) {
    return UsageError("a secure import needs -k/--key-material");
  }
  if (sealed && m.import_token) {
    return UsageError(
        "-t/--import-token seals -k itself: leave out -n and -v");
  }
  return absl::OkStatus();
}

client::SealedKeyMaterial SealedOf(const MaterialOptions& m) {
  return {m.material, m.encrypted_nonce, m.iv};
}

absl::Status Create(KpSession& s, const KeyOptions& o) {
  KW_RETURN_IF_ERROR(CheckMaterial(o.m));
  if (o.standard && (o.m.import_token || !o.m.iv.empty())) {
    return UsageError("only root keys are imported through an import token");
  }
  client::CreateKeyRequest r;
  r.name = o.name;
  r.description = o.description;
  r.extractable = o.standard;
  r.key_ring_id = o.key_ring;
  r.aliases = o.aliases;
  absl::StatusOr<client::Key> key;
  if (o.m.import_token) {
    KW_ASSIGN_OR_RETURN(SecretBytes material,
                        ReadMaterial(o.m.material, "-k/--key-material"));
    key = s.kp->ImportKeySecurely(std::move(r), material);
  } else {
    if (!o.m.iv.empty()) {
      r.sealed = SealedOf(o.m);
    } else if (!o.m.material.empty()) {
      KW_ASSIGN_OR_RETURN(r.payload,
                          ReadMaterial(o.m.material, "-k/--key-material"));
    }
    key = s.kp->CreateKey(r);
  }
  if (!key.ok()) return key.status();
  const json::object row = KeyRow(*key);
  EmitOne(s, KeyJson(*key), kKeyColumns, &row);
  return absl::OkStatus();
}

absl::Status Rotate(KpSession& s, const KeyOptions& o) {
  KW_RETURN_IF_ERROR(CheckMaterial(o.m));
  absl::Status status;
  if (o.m.import_token) {
    KW_ASSIGN_OR_RETURN(SecretBytes material,
                        ReadMaterial(o.m.material, "-k/--key-material"));
    KW_ASSIGN_OR_RETURN(client::ImportToken token, s.kp->GetImportToken());
    KW_ASSIGN_OR_RETURN(client::SealedKeyMaterial sealed,
                        client::SealForImport(token, material));
    status = s.kp->RotateKey(o.id, sealed);
  } else if (!o.m.iv.empty()) {
    status = s.kp->RotateKey(o.id, SealedOf(o.m));
  } else if (!o.m.material.empty()) {
    KW_ASSIGN_OR_RETURN(SecretBytes material,
                        ReadMaterial(o.m.material, "-k/--key-material"));
    status = s.kp->RotateKey(o.id, &material);
  } else {
    status = s.kp->RotateKey(o.id);
  }
  KW_RETURN_IF_ERROR(status);
  Confirm(s, StrCat("Rotated key ", Printable(o.id), "."));
  return absl::OkStatus();
}

absl::Status List(KpSession& s) {
  KW_ASSIGN_OR_RETURN(std::vector<client::Key> keys, s.kp->ListKeys());
  json::array out, rows;
  for (const client::Key& k : keys) {
    out.emplace_back(KeyJson(k));
    rows.emplace_back(KeyRow(k));
  }
  Emit(s, out, rows, kKeyListColumns);
  return absl::OkStatus();
}

absl::Status Show(KpSession& s, const KeyOptions& o) {
  KW_ASSIGN_OR_RETURN(client::Key key, s.kp->GetKeyMetadata(o.id));
  const json::object row = KeyRow(key);
  EmitOne(s, KeyJson(key), kKeyColumns, &row);
  return absl::OkStatus();
}

absl::Status Wrap(KpSession& s, const KeyOptions& o) {
  absl::StatusOr<client::WrapResult> w;
  if (o.text.empty()) {
    w = s.kp->Wrap(o.id, nullptr, o.aad);
  } else {
    KW_ASSIGN_OR_RETURN(SecretBytes plaintext,
                        ReadMaterial(o.text, "-p/--plaintext"));
    w = s.kp->Wrap(o.id, &plaintext, o.aad);
  }
  if (!w.ok()) return w.status();
  json::object out;
  out["ciphertext"] = w->ciphertext;
  out["keyVersion"] = json::object{{"id", w->key_version_id}};
  if (w->generated_plaintext.has_value()) {
    // The DEK the server generated: asked for, so printed (and wiped).
    out["plaintext"] = client::Base64OfSecret(*w->generated_plaintext);
  }
  json::object row = out;
  row["version"] = w->key_version_id;
  EmitOne(s, out, kWrapColumns, &row);
  for (json::object* o2 : {&out, &row}) {
    if (json::value* p = o2->if_contains("plaintext")) {
      WipeMemory(p->get_string().data(), p->get_string().size());
    }
  }
  return absl::OkStatus();
}

absl::Status Unwrap(KpSession& s, const KeyOptions& o) {
  KW_ASSIGN_OR_RETURN(client::UnwrapResult u,
                      s.kp->Unwrap(o.id, o.text, o.aad));
  json::object out;
  out["plaintext"] = client::Base64OfSecret(u.plaintext);
  out["keyVersion"] = json::object{{"id", u.key_version_id}};
  if (!u.rewrapped_ciphertext.empty()) {
    out["ciphertext"] = u.rewrapped_ciphertext;
    out["rewrappedKeyVersion"] =
        json::object{{"id", u.rewrapped_key_version_id}};
  }
  json::object row = out;
  row["version"] = u.key_version_id;
  EmitOne(s, out, kUnwrapColumns, &row);
  for (json::object* o2 : {&out, &row}) {
    json::string& p = (*o2)["plaintext"].get_string();
    WipeMemory(p.data(), p.size());
  }
  return absl::OkStatus();
}

absl::Status Versions(KpSession& s, const KeyOptions& o) {
  KW_ASSIGN_OR_RETURN(std::vector<client::KeyVersion> versions,
                      s.kp->ListKeyVersions(o.id));
  json::array out;
  for (const client::KeyVersion& v : versions) {
    out.emplace_back(json::object{{"id", v.id}, {"creationDate", v.creation_date}});
  }
  Emit(s, out, out, kVersionColumns);
  return absl::OkStatus();
}

absl::Status ShowPolicies(KpSession& s, const std::string& id) {
  KW_ASSIGN_OR_RETURN(client::KeyPolicies p, s.kp->GetKeyPolicies(id));
  json::object out;
  json::array rows;
  if (p.rotation.has_value()) {
    json::object r{{"enabled", p.rotation->enabled}};
    if (p.rotation->interval_month > 0) {
      r["interval_month"] = p.rotation->interval_month;
    }
    out["rotation"] = r;
    r["policy"] = "rotation";
    rows.emplace_back(std::move(r));
  }
  if (p.dual_auth_delete.has_value()) {
    json::object d{{"enabled", *p.dual_auth_delete}};
    out["dualAuthDelete"] = d;
    d["policy"] = "dualAuthDelete";
    rows.emplace_back(std::move(d));
  }
  Emit(s, out, rows, kPolicyColumns);
  return absl::OkStatus();
}

struct PolicyOptions {
  std::string id;
  bool enable = false;
  bool disable = false;
  int interval_month = 0;
};

absl::StatusOr<bool> EnabledOf(const PolicyOptions& p) {
  if (p.enable == p.disable) {
    return UsageError("pass one of -e/--enable and -d/--disable");
  }
  return p.enable;
}

// Every subcommand of `key` that acts on one key takes its ID.
CLI::App* WithId(CLI::App* cmd, std::string& id) {
  cmd->add_option("ID", id, "The key's id or alias")->required();
  return cmd;
}

void AddKeyActions(CLI::App* key, int& exit_code) {
  struct Action {
    const char* name;
    const char* description;
    absl::Status (client::KeyProtectClient::*call)(const std::string&);
    const char* done;
  };
  static constexpr Action kActions[] = {
      {"enable", "Enable a disabled key (Suspended → Active)",
       &client::KeyProtectClient::EnableKey, "Enabled"},
      {"disable", "Disable a key: it wraps and unwraps nothing until enabled",
       &client::KeyProtectClient::DisableKey, "Disabled"},
      {"schedule-delete",
       "Give the first approval of a dual-authorization deletion",
       &client::KeyProtectClient::SetKeyForDeletion,
       "Scheduled for deletion:"},
      {"unschedule-delete",
       "Withdraw the first approval of a dual-authorization deletion",
       &client::KeyProtectClient::UnsetKeyForDeletion,
       "Unscheduled for deletion:"},
      {"purge", "Remove a deleted key for good (4 h after its deletion)",
       &client::KeyProtectClient::PurgeKey, "Purged"},
  };
  for (const Action& a : kActions) {
    auto id = std::make_shared<std::string>();
    WithId(AddKpCommand(key, a.name, a.description, exit_code,
                        [id, a](KpSession& s) -> absl::Status {
                          KW_RETURN_IF_ERROR(((*s.kp).*a.call)(*id));
                          Confirm(s, StrCat(a.done, " key ", Printable(*id),
                                            "."));
                          return absl::OkStatus();
                        }),
           *id);
  }
}

}  // namespace

void AddKpKeyCommands(CLI::App& app, int& exit_code) {
  AddKpCommand(&app, "keys", "List the instance's keys (ibmcloud kp keys)",
               exit_code, [](KpSession& s) { return List(s); });

  CLI::App* key = app.add_subcommand(
      "key", "Manage and use keys of an instance, like `ibmcloud kp key`");
  key->require_subcommand(1);

  auto c = std::make_shared<KeyOptions>();
  CLI::App* create = AddKpCommand(
      key, "create", "Create a root key, or a standard key with -s",
      exit_code, [c](KpSession& s) { return Create(s, *c); });
  create->add_option("NAME", c->name, "The key's name")->required();
  create->add_flag("-s,--standard-key,--standard", c->standard,
                   "A standard key (a stored secret) instead of a root key");
  create->add_option("-d,--description", c->description, "Description");
  create->add_option("-r,--key-ring", c->key_ring,
                     "The key ring (default: default)");
  create->add_option("-a,--alias", c->aliases, "An alias (repeatable)");
  AddMaterialOptions(create, c->m);

  auto show = std::make_shared<KeyOptions>();
  WithId(AddKpCommand(key, "show", "Show a key's metadata", exit_code,
                      [show](KpSession& s) { return Show(s, *show); }),
         show->id);

  auto w = std::make_shared<KeyOptions>();
  CLI::App* wrap = WithId(
      AddKpCommand(key, "wrap",
                   "Wrap a data key (-p) or a new 256-bit one the server "
                   "generates",
                   exit_code, [w](KpSession& s) { return Wrap(s, *w); }),
      w->id);
  wrap->add_option("-p,--plaintext", w->text,
                   "The data key, base64 (\"-\": from stdin)");
  wrap->add_option("-a,--aad", w->aad,
                   "Additional authenticated data (repeatable, or "
                   "comma-separated)")
      ->delimiter(',');

  auto u = std::make_shared<KeyOptions>();
  CLI::App* unwrap = WithId(
      AddKpCommand(key, "unwrap", "Unwrap a wrapped data key", exit_code,
                   [u](KpSession& s) { return Unwrap(s, *u); }),
      u->id);
  unwrap->add_option("CIPHERTEXT", u->text, "The wrapped data key")
      ->required();
  unwrap->add_option("-a,--aad", u->aad,
                     "The additional authenticated data it was wrapped with")
      ->delimiter(',');

  auto r = std::make_shared<KeyOptions>();
  AddMaterialOptions(
      WithId(AddKpCommand(key, "rotate", "Rotate a root key", exit_code,
                          [r](KpSession& s) { return Rotate(s, *r); }),
             r->id),
      r->m);

  AddKeyActions(key, exit_code);

  auto d = std::make_shared<KeyOptions>();
  WithId(AddKpCommand(key, "delete", "Delete a key (restorable for 30 days)",
                      exit_code,
                      [d](KpSession& s) -> absl::Status {
                        KW_RETURN_IF_ERROR(s.kp->DeleteKey(d->id, d->force));
                        Confirm(s, StrCat("Deleted key ", Printable(d->id),
                                          "."));
                        return absl::OkStatus();
                      }),
         d->id)
      ->add_flag("-f,--force", d->force,
                 "Delete even while resources are registered with the key");

  auto rs = std::make_shared<KeyOptions>();
  WithId(AddKpCommand(key, "restore", "Restore a deleted key", exit_code,
                      [rs](KpSession& s) -> absl::Status {
                        KW_ASSIGN_OR_RETURN(client::Key k,
                                            s.kp->RestoreKey(rs->id));
                        const json::object row = KeyRow(k);
                        EmitOne(s, KeyJson(k), kKeyColumns, &row);
                        return absl::OkStatus();
                      }),
         rs->id);

  auto v = std::make_shared<KeyOptions>();
  WithId(AddKpCommand(key, "versions", "List a root key's versions",
                      exit_code,
                      [v](KpSession& s) { return Versions(s, *v); }),
         v->id);

  auto ac = std::make_shared<KeyOptions>();
  CLI::App* alias_create = WithId(
      AddKpCommand(key, "alias-create", "Add an alias to a key", exit_code,
                   [ac](KpSession& s) -> absl::Status {
                     KW_ASSIGN_OR_RETURN(client::KeyAlias a,
                                         s.kp->CreateKeyAlias(ac->id, ac->alias));
                     EmitOne(s,
                             json::object{{"keyId", a.key_id},
                                          {"alias", a.alias},
                                          {"creationDate", a.creation_date},
                                          {"createdBy", a.created_by}},
                             kAliasColumns);
                     return absl::OkStatus();
                   }),
      ac->id);
  alias_create->add_option("-a,--alias", ac->alias, "The alias")->required();

  auto ad = std::make_shared<KeyOptions>();
  WithId(AddKpCommand(key, "alias-delete", "Remove an alias of a key",
                      exit_code,
                      [ad](KpSession& s) -> absl::Status {
                        KW_RETURN_IF_ERROR(
                            s.kp->DeleteKeyAlias(ad->id, ad->alias));
                        Confirm(s, StrCat("Deleted alias ",
                                          Printable(ad->alias), "."));
                        return absl::OkStatus();
                      }),
         ad->id)
      ->add_option("-a,--alias", ad->alias, "The alias")
      ->required();

  auto p = std::make_shared<KeyOptions>();
  WithId(AddKpCommand(key, "policies", "Show a key's policies", exit_code,
                      [p](KpSession& s) { return ShowPolicies(s, p->id); }),
         p->id);

  CLI::App* update = key->add_subcommand(
      "policy-update", "Set a key's rotation or dual-authorization policy");
  update->require_subcommand(1);
  auto rot = std::make_shared<PolicyOptions>();
  CLI::App* rotation = AddKpCommand(
      update, "rotation", "Automatic rotation every -m months", exit_code,
      [rot](KpSession& s) -> absl::Status {
        KW_ASSIGN_OR_RETURN(bool enabled, EnabledOf(*rot));
        if (rot->interval_month != 0 &&
            (rot->interval_month < 1 || rot->interval_month > 12)) {
          return UsageError("-m/--monthly-interval must be 1 to 12");
        }
        KW_RETURN_IF_ERROR(
            s.kp->SetRotationPolicy(rot->id, {enabled, rot->interval_month})
                .status());
        return ShowPolicies(s, rot->id);
      });
  rotation->add_option("ID", rot->id, "The key's id or alias")->required();
  rotation->add_flag("-e,--enable", rot->enable, "Enable it");
  rotation->add_flag("-d,--disable", rot->disable, "Disable it");
  rotation->add_option("-m,--monthly-interval", rot->interval_month,
                       "Months between rotations, 1 to 12");
  auto dual = std::make_shared<PolicyOptions>();
  CLI::App* dual_cmd = AddKpCommand(
      update, "dual-auth-delete",
      "Require two users to delete the key (cannot be undone)", exit_code,
      [dual](KpSession& s) -> absl::Status {
        KW_ASSIGN_OR_RETURN(bool enabled, EnabledOf(*dual));
        KW_RETURN_IF_ERROR(
            s.kp->SetDualAuthDeletePolicy(dual->id, enabled).status());
        return ShowPolicies(s, dual->id);
      });
  dual_cmd->add_option("ID", dual->id, "The key's id or alias")->required();
  dual_cmd->add_flag("-e,--enable", dual->enable, "Enable it");
  dual_cmd->add_flag("-d,--disable", dual->disable,
                     "Disable it (the server refuses once enabled)");
}

}  // namespace keywarden::cli
