#ifndef KEYWARDEN_API_KEYPROTECT_TOKEN_FORM_H_
#define KEYWARDEN_API_KEYPROTECT_TOKEN_FORM_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "keywarden/service/token_issuer.h"

// The body of POST /identity/token: IBM IAM's API-key grant, which the SDKs'
// IamAuthenticator and the Go client's token source send (keyprotect-api.md
// §18 "Authenticators", §19 "IAM token source"):
//
//   grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>[&...]
//
// as application/x-www-form-urlencoded (WHATWG URL §5.1). Other fields
// (response_type=cloud_iam, ...) are ignored.
namespace keywarden::api::keyprotect {

inline constexpr std::string_view kApiKeyGrantType =
    "urn:ibm:params:oauth:grant-type:apikey";

// The token request in `body`. Errors are Reason::kBadRequest naming the
// field: `grant_type` missing or not kApiKeyGrantType, `apikey` missing or
// empty, either given more than once, or a malformed %-escape in one of
// them. The API key is decoded straight into wiped memory; no message
// quotes it.
absl::StatusOr<service::TokenRequest> DecodeTokenForm(std::string_view body);

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_TOKEN_FORM_H_
