// The data plane routes of the Key Protect API (keyprotect-api.md §4.1):
// wrap, unwrap and rewrap, in either form (/actions/wrap or ?action=wrap).
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {

void WrapKey(Call& call) {
  absl::StatusOr<service::WrapRequest> req = DecodeWrap(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::WrapResult> r =
      call.services.data_plane->Wrap(call.ctx, call.KeyId(), *req);
  req->plaintext.reset();  // SecretBytes: wiped now, not at scope end
  if (!r.ok()) return call.Fail(r.status());
  call.Reply(beast_http::status::ok, EncodeWrap(*r));
}

void UnwrapKey(Call& call) {
  absl::StatusOr<service::UnwrapRequest> req = DecodeUnwrap(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::UnwrapResult> r =
      call.services.data_plane->Unwrap(call.ctx, call.KeyId(), *req);
  if (!r.ok()) return call.Fail(r.status());
  call.Reply(beast_http::status::ok, EncodeUnwrap(*r));
}

void RewrapKey(Call& call) {
  absl::StatusOr<service::UnwrapRequest> req = DecodeUnwrap(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  absl::StatusOr<service::RewrapResult> r =
      call.services.data_plane->Rewrap(call.ctx, call.KeyId(), *req);
  if (!r.ok()) return call.Fail(r.status());
  call.Reply(beast_http::status::ok, EncodeRewrap(*r));
}

}  // namespace keywarden::api::keyprotect::handlers
