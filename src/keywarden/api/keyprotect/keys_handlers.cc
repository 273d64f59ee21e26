// The key routes of the Key Protect API (keyprotect-api.md §3, §4): list,
// count, create, read, delete, restore, versions, the lifecycle actions and
// purge. Decode, call the service, encode; no rules live here.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"

namespace keywarden::api::keyprotect::handlers {
namespace {

Prefer PreferOf(const Call& call) {
  return ParsePrefer(call.headers.prefer);
}

// How a key is rendered: the instance's CRN prefix, and the minimal view
// when the client prefers it.
KeyRenderOptions RenderOf(const Call& call) {
  KeyRenderOptions render;
  render.crn_prefix = call.options.crn_prefix;
  if (PreferOf(call) == Prefer::kMinimal) {
    render.view = KeyView::kMinimal;
  }
  return render;
}

void ReplyKey(Call& call, beast_http::status status,
              const service::KeyResult& key, const KeyRenderOptions& render) {
  call.Reply(status, EncodeKeys({&key}, render));
}

absl::StatusOr<store::SortField> SortFieldOf(std::string_view name) {
  static constexpr std::pair<std::string_view, store::SortField> kFields[] = {
      {"id", store::SortField::kId},
      {"state", store::SortField::kState},
      {"extractable", store::SortField::kExtractable},
      {"imported", store::SortField::kImported},
      {"creationDate", store::SortField::kCreationDate},
      {"lastUpdateDate", store::SortField::kLastUpdateDate},
      {"lastRotateDate", store::SortField::kLastRotateDate},
      {"deletionDate", store::SortField::kDeletionDate},
      {"expirationDate", store::SortField::kExpirationDate},
  };
  for (const auto& [n, f] : kFields) {
    if (n == name) return f;
  }
  return BadParam("sort",
                  "a comma-separated list of id, state, extractable, "
                  "imported, creationDate, lastUpdateDate, lastRotateDate, "
                  "deletionDate, expirationDate, each optionally prefixed "
                  "with -");
}

absl::StatusOr<service::ListKeysRequest> ListRequestOf(const QueryParams& q) {
  service::ListKeysRequest req;
  KW_ASSIGN_OR_RETURN(std::optional<int64_t> limit, IntParam(q, "limit"));
  KW_ASSIGN_OR_RETURN(std::optional<int64_t> offset, IntParam(q, "offset"));
  if (limit) req.limit = *limit;
  if (offset) req.offset = *offset;
  KW_ASSIGN_OR_RETURN(req.extractable, BoolParam(q, "extractable"));
  if (std::optional<std::string_view> states = q.Get("state")) {
    for (absl::string_view s : absl::StrSplit(AbslView(*states), ',')) {
      int n;
      std::optional<keys::KeyState> state;
      if (absl::SimpleAtoi(s, &n)) state = keys::KeyStateFromInt(n);
      if (!state) {
        return BadParam("state",
                        "a comma-separated list of key states from 0, 1, 2, "
                        "3 and 5");
      }
      req.states.push_back(*state);
    }
  }
  if (std::optional<std::string_view> sort = q.Get("sort")) {
    for (absl::string_view piece : absl::StrSplit(AbslView(*sort), ',')) {
      std::string_view s = StdView(piece);
      store::SortKey key;
      if (!s.empty() && s[0] == '-') {
        key.descending = true;
        s.remove_prefix(1);
      }
      KW_ASSIGN_OR_RETURN(key.field, SortFieldOf(s));
      req.sort.push_back(key);
    }
  }
  if (std::optional<std::string_view> search = q.Get("search")) {
    req.search = std::string(*search);
  }
  if (std::optional<std::string_view> filter = q.Get("filter")) {
    req.filter = std::string(*filter);
  }
  return req;
}

// Rotate, delete: the key on `Prefer: return=representation`, else 204.
void ReplyKeyIfAsked(Call& call, const service::KeyResult& key) {
  if (PreferOf(call) == Prefer::kRepresentation) {
    ReplyKey(call, beast_http::status::ok, key, RenderOf(call));
  } else {
    call.Reply(beast_http::status::no_content);
  }
}

void Create(Call& call, bool with_policy_overrides) {
  absl::StatusOr<service::CreateKeyRequest> req =
      DecodeCreateKey(call.Body(), with_policy_overrides);
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::KeyResult> key =
      call.services.keys->CreateKey(call.ctx, *req);
  if (!key.ok()) return call.Fail(key.status());
  // The generated material of a standard key is returned only when the
  // client asked for the representation.
  KeyRenderOptions render = RenderOf(call);
  render.include_payload = PreferOf(call) == Prefer::kRepresentation;
  ReplyKey(call, beast_http::status::created, *key, render);
}

void Get(Call& call, bool with_payload) {
  service::KeyLifecycle& keys = *call.services.keys;
  absl::StatusOr<service::KeyResult> key =
      with_payload ? keys.GetKey(call.ctx, call.KeyId())
                   : keys.GetKeyMetadata(call.ctx, call.KeyId());
  if (!key.ok()) return call.Fail(key.status());
  KeyRenderOptions render = RenderOf(call);
  render.view = KeyView::kFull;
  render.include_payload = with_payload;
  ReplyKey(call, beast_http::status::ok, *key, render);
}

// Enable, disable, (un)set for deletion, sync: an ignored body, then 204.
template <typename Action>
void BodilessAction(Call& call, Action action) {
  if (absl::Status s = DecodeIgnoredBody(call.Body()); !s.ok()) {
    return call.Fail(s);
  }
  absl::Status s = action(*call.services.keys, call.ctx, call.KeyId());
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

}  // namespace

void ListKeys(Call& call) {
  absl::StatusOr<service::ListKeysRequest> req = ListRequestOf(call.Query());
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::ListKeysResult> list =
      call.services.keys->ListKeys(call.ctx, *req);
  if (!list.ok()) return call.Fail(list.status());
  call.Reply(beast_http::status::ok, EncodeKeyList(*list, RenderOf(call)));
}

void CountKeys(Call& call) {
  absl::StatusOr<service::ListKeysRequest> req = ListRequestOf(call.Query());
  if (!req.ok()) return call.Fail(req.status());
  // HEAD counts by state, extractable and filter (§3.3), not search.
  if (req->search.has_value()) {
    return call.Fail(BadParam("search", "absent on HEAD /keys"));
  }
  absl::StatusOr<int64_t> total = call.services.keys->CountKeys(call.ctx, *req);
  if (!total.ok()) return call.Fail(total.status());
  call.res.set("Key-Total", std::to_string(*total));
  call.Reply(beast_http::status::ok);
}

void CreateKey(Call& call) { Create(call, /*with_policy_overrides=*/false); }

void CreateKeyWithPolicyOverrides(Call& call) {
  Create(call, /*with_policy_overrides=*/true);
}

void GetKey(Call& call) { Get(call, /*with_payload=*/true); }

void GetKeyMetadata(Call& call) { Get(call, /*with_payload=*/false); }

void DeleteKey(Call& call) {
  service::DeleteKeyRequest req;
  absl::StatusOr<std::optional<bool>> force = BoolParam(call.Query(), "force");
  if (!force.ok()) return call.Fail(force.status());
  req.force = force->value_or(false);
  absl::StatusOr<service::KeyResult> key =
      call.services.keys->DeleteKey(call.ctx, call.KeyId(), req);
  if (!key.ok()) return call.Fail(key.status());
  ReplyKeyIfAsked(call, *key);
}

void RestoreKey(Call& call) {
  // The body is optional; the legacy form carried the material again,
  // which is no longer needed (keyprotect-api.md §3.8).
  if (absl::Status s = DecodeIgnoredBody(call.Body()); !s.ok()) {
    return call.Fail(s);
  }
  absl::StatusOr<service::KeyResult> key =
      call.services.keys->RestoreKey(call.ctx, call.KeyId());
  if (!key.ok()) return call.Fail(key.status());
  KeyRenderOptions render = RenderOf(call);
  render.view = KeyView::kFull;
  ReplyKey(call, beast_http::status::created, *key, render);
}

void ListKeyVersions(Call& call) {
  const QueryParams& query = call.Query();
  service::ListVersionsRequest req;
  if (absl::Status s = ReadPaging(query, req); !s.ok()) return call.Fail(s);
  absl::StatusOr<std::optional<bool>> all = BoolParam(query, "allKeyStates");
  if (!all.ok()) return call.Fail(all.status());
  req.all_key_states = all->value_or(false);
  absl::StatusOr<service::ListVersionsResult> versions =
      call.services.keys->ListVersions(call.ctx, call.KeyId(), req);
  if (!versions.ok()) return call.Fail(versions.status());
  call.Reply(beast_http::status::ok, EncodeVersions(*versions));
}

void RotateKey(Call& call) {
  absl::StatusOr<service::RotateRequest> req = DecodeRotate(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::KeyResult> key =
      call.services.keys->Rotate(call.ctx, call.KeyId(), *req);
  if (!key.ok()) return call.Fail(key.status());
  ReplyKeyIfAsked(call, *key);
}

void EnableKey(Call& call) {
  BodilessAction(call, [](service::KeyLifecycle& keys,
                          const service::RequestContext& ctx,
                          std::string_view id) {
    return keys.Enable(ctx, id).status();
  });
}

void DisableKey(Call& call) {
  BodilessAction(call, [](service::KeyLifecycle& keys,
                          const service::RequestContext& ctx,
                          std::string_view id) {
    return keys.Disable(ctx, id).status();
  });
}

void SetKeyForDeletion(Call& call) {
  BodilessAction(call, [](service::KeyLifecycle& keys,
                          const service::RequestContext& ctx,
                          std::string_view id) {
    return keys.SetKeyForDeletion(ctx, id);
  });
}

void UnsetKeyForDeletion(Call& call) {
  BodilessAction(call, [](service::KeyLifecycle& keys,
                          const service::RequestContext& ctx,
                          std::string_view id) {
    return keys.UnsetKeyForDeletion(ctx, id);
  });
}

void SyncKey(Call& call) {
  BodilessAction(call, [](service::KeyLifecycle& keys,
                          const service::RequestContext& ctx,
                          std::string_view id) {
    return keys.SyncKey(ctx, id);
  });
}

void PurgeKey(Call& call) {
  absl::StatusOr<service::KeyResult> key =
      call.services.keys->PurgeKey(call.ctx, call.KeyId());
  if (!key.ok()) return call.Fail(key.status());
  if (PreferOf(call) == Prefer::kMinimal) {
    return call.Reply(beast_http::status::no_content);
  }
  KeyRenderOptions render = RenderOf(call);
  render.view = KeyView::kFull;
  ReplyKey(call, beast_http::status::ok, *key, render);
}

void PatchKey(Call& call) {
  absl::StatusOr<service::PatchKeyRequest> req = DecodePatchKey(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::KeyResult> key =
      call.services.keys->PatchKey(call.ctx, call.KeyId(), *req);
  if (!key.ok()) return call.Fail(key.status());
  KeyRenderOptions render = RenderOf(call);
  render.view = KeyView::kFull;
  ReplyKey(call, beast_http::status::ok, *key, render);
}

void NoSuchKeyAction(Call& call) {
  call.Fail(Error(Reason::kNotFound,
                  StrCat("Not Found: there is no key action `",
                         call.Param("action"), "`")));
}

}  // namespace keywarden::api::keyprotect::handlers
