// The KMIP adapter routes of the Key Protect API (keyprotect-api.md §13):
// adapters, their client certificates and their KMIP objects. Decode, call
// the service, encode; no rules live here.
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {
namespace {

struct Page {
  int64_t limit = 100;
  int64_t offset = 0;
  bool total_count = false;
};

absl::StatusOr<Page> ReadPage(const Call& call) {
  Page page;
  if (absl::Status s = ReadPaging(call.Query(), page); !s.ok()) return s;
  return page;
}

service::KmipPage ToPage(const Page& p) { return {p.limit, p.offset}; }

std::optional<int64_t> Total(const Page& p, int64_t total) {
  if (!p.total_count) return std::nullopt;
  return total;
}

// Without KMIP adapters (a server wired without them), every route answers
// 501 rather than reaching a missing service.
bool Configured(Call& call) {
  if (call.services.kmip != nullptr) return true;
  call.Fail(Error(Reason::kNotImplemented, "KMIP adapters are not configured"));
  return false;
}

}  // namespace

void CreateKmipAdapter(Call& call) {
  if (!Configured(call)) return;
  absl::StatusOr<service::KmipAdapterInput> in = DecodeKmipAdapter(call.Body());
  if (!in.ok()) return call.Fail(in.status());
  absl::StatusOr<store::KmipAdapter> a =
      call.services.kmip->CreateAdapter(call.ctx, *in);
  if (!a.ok()) return call.Fail(a.status());
  call.Reply(beast_http::status::created, EncodeKmipAdapters({*a}, std::nullopt));
}

void ListKmipAdapters(Call& call) {
  if (!Configured(call)) return;
  absl::StatusOr<Page> page = ReadPage(call);
  if (!page.ok()) return call.Fail(page.status());
  std::string crk(call.Query().Get("crk_id").value_or(""));
  auto list = call.services.kmip->ListAdapters(call.ctx, crk, ToPage(*page));
  if (!list.ok()) return call.Fail(list.status());
  call.Reply(beast_http::status::ok,
             EncodeKmipAdapters(list->items, Total(*page, list->total)));
}

void GetKmipAdapter(Call& call) {
  if (!Configured(call)) return;
  auto a = call.services.kmip->GetAdapter(call.ctx, call.Param("id"));
  if (!a.ok()) return call.Fail(a.status());
  call.Reply(beast_http::status::ok, EncodeKmipAdapters({*a}, std::nullopt));
}

void DeleteKmipAdapter(Call& call) {
  if (!Configured(call)) return;
  absl::Status s = call.services.kmip->DeleteAdapter(call.ctx, call.Param("id"));
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

void CreateKmipCertificate(Call& call) {
  if (!Configured(call)) return;
  auto in = DecodeKmipCertificate(call.Body());
  if (!in.ok()) return call.Fail(in.status());
  auto c = call.services.kmip->CreateCertificate(call.ctx,
                                                 call.Param("id"), *in);
  if (!c.ok()) return call.Fail(c.status());
  call.Reply(beast_http::status::created,
             EncodeKmipCertificates({*c}, /*with_pem=*/true, std::nullopt));
}

void ListKmipCertificates(Call& call) {
  if (!Configured(call)) return;
  absl::StatusOr<Page> page = ReadPage(call);
  if (!page.ok()) return call.Fail(page.status());
  auto list = call.services.kmip->ListCertificates(
      call.ctx, call.Param("id"), ToPage(*page));
  if (!list.ok()) return call.Fail(list.status());
  call.Reply(beast_http::status::ok,
             EncodeKmipCertificates(list->items, /*with_pem=*/false,
                                    Total(*page, list->total)));
}

void GetKmipCertificate(Call& call) {
  if (!Configured(call)) return;
  auto c = call.services.kmip->GetCertificate(call.ctx, call.Param("id"),
                                              call.Param("certificate_id"));
  if (!c.ok()) return call.Fail(c.status());
  call.Reply(beast_http::status::ok,
             EncodeKmipCertificates({*c}, /*with_pem=*/true, std::nullopt));
}

void DeleteKmipCertificate(Call& call) {
  if (!Configured(call)) return;
  absl::Status s = call.services.kmip->DeleteCertificate(
      call.ctx, call.Param("id"), call.Param("certificate_id"));
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

void ListKmipObjects(Call& call) {
  if (!Configured(call)) return;
  absl::StatusOr<Page> page = ReadPage(call);
  if (!page.ok()) return call.Fail(page.status());
  std::vector<int32_t> states;
  for (std::string_view value : call.Query().GetAll("state")) {
    for (absl::string_view piece : absl::StrSplit(AbslView(value), ',')) {
      int32_t state = 0;
      if (!absl::SimpleAtoi(piece, &state)) {
        return call.Fail(BadParam("state", "KMIP states 1 to 6, comma-separated"));
      }
      states.push_back(state);
    }
  }
  auto list = call.services.kmip->ListObjects(call.ctx, call.Param("id"),
                                              states, ToPage(*page));
  if (!list.ok()) return call.Fail(list.status());
  call.Reply(beast_http::status::ok,
             EncodeKmipObjects(list->items, Total(*page, list->total)));
}

void GetKmipObject(Call& call) {
  if (!Configured(call)) return;
  auto o = call.services.kmip->GetObject(call.ctx, call.Param("id"),
                                         call.Param("object_id"));
  if (!o.ok()) return call.Fail(o.status());
  call.Reply(beast_http::status::ok, EncodeKmipObjects({*o}, std::nullopt));
}

void DeleteKmipObject(Call& call) {
  if (!Configured(call)) return;
  absl::Status s = call.services.kmip->DeleteObject(
      call.ctx, call.Param("id"), call.Param("object_id"));
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

}  // namespace keywarden::api::keyprotect::handlers
