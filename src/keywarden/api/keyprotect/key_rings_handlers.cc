// The key ring and alias routes of the Key Protect API (keyprotect-api.md
// §5, §6). Decode, call the service, encode; no rules live here.
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {

void CreateKeyAlias(Call& call) {
  if (absl::Status s = DecodeIgnoredBody(call.Body()); !s.ok()) {
    return call.Fail(s);
  }
  absl::StatusOr<store::KeyAlias> created = call.services.rings->CreateKeyAlias(
      call.ctx, call.KeyId(), call.Param("alias"));
  if (!created.ok()) return call.Fail(created.status());
  call.Reply(beast_http::status::created, EncodeAlias(*created));
}

void DeleteKeyAlias(Call& call) {
  absl::Status s = call.services.rings->DeleteKeyAlias(call.ctx, call.KeyId(),
                                                       call.Param("alias"));
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

void CreateKeyRing(Call& call) {
  if (absl::Status s = DecodeIgnoredBody(call.Body()); !s.ok()) {
    return call.Fail(s);
  }
  absl::Status s = call.services.rings->CreateKeyRing(call.ctx, call.KeyId());
  if (!s.ok()) return call.Fail(s);
  // No body: the Go client fails on a 201 with one for this call
  // (keyprotect-api.md §22).
  call.Reply(beast_http::status::created);
}

void ListKeyRings(Call& call) {
  service::ListKeyRingsRequest req;
  if (absl::Status s = ReadPaging(call.Query(), req); !s.ok()) {
    return call.Fail(s);
  }
  absl::StatusOr<service::ListKeyRingsResult> rings =
      call.services.rings->ListKeyRings(call.ctx, req);
  if (!rings.ok()) return call.Fail(rings.status());
  call.Reply(beast_http::status::ok, EncodeKeyRings(*rings));
}

void DeleteKeyRing(Call& call) {
  absl::StatusOr<std::optional<bool>> force = BoolParam(call.Query(), "force");
  if (!force.ok()) return call.Fail(force.status());
  absl::Status s = call.services.rings->DeleteKeyRing(call.ctx, call.KeyId(),
                                                      force->value_or(false));
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

}  // namespace keywarden::api::keyprotect::handlers
