// The secure import routes of the Key Protect API (keyprotect-api.md §8).
// POST generates an RSA-4096 pair: its row is kBlocking, so the transport
// runs it off the I/O threads.
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {
namespace {

void ReplyToken(Call& call,
                const absl::StatusOr<service::ImportTokenResult>& token) {
  if (!token.ok()) return call.Fail(token.status());
  call.Reply(beast_http::status::ok, EncodeImportToken(*token));
}

}  // namespace

void CreateImportToken(Call& call) {
  service::ImportTokenManager* tokens = call.services.import_tokens;
  if (tokens == nullptr) return call.Fail(Unavailable("secure import"));
  absl::StatusOr<service::CreateImportTokenRequest> req =
      DecodeCreateImportToken(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  ReplyToken(call, tokens->Create(call.ctx, *req));
}

void GetImportToken(Call& call) {
  service::ImportTokenManager* tokens = call.services.import_tokens;
  if (tokens == nullptr) return call.Fail(Unavailable("secure import"));
  ReplyToken(call, tokens->Retrieve(call.ctx));
}

}  // namespace keywarden::api::keyprotect::handlers
