#ifndef KEYWARDEN_STORE_KMIP_STORE_CONFORMANCE_TEST_H_
#define KEYWARDEN_STORE_KMIP_STORE_CONFORMANCE_TEST_H_

// The KmipStore conformance suite: the rules of kmip_store.h, run against
// every implementation (SQLite and PostgreSQL). A test file instantiates it:
//
//   KW_INSTANTIATE_KMIP_STORE_CONFORMANCE(
//       Sqlite, (KmipStoreFactory{"Sqlite", [](const std::string& dir)
//           -> absl::StatusOr<KmipStoreUnderTest> {
//         return KmipInterfaces(SqliteStore::Open(dir + "/kw.db"));
//       }}));

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <tuple>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/kmip_store.h"

namespace keywarden::store {

struct KmipStoreUnderTest {
  std::shared_ptr<void> owner;
  KmipStore* kmip = nullptr;
  IdentityStore* identity = nullptr;  // for the audit log
};

template <typename T>
absl::StatusOr<KmipStoreUnderTest> KmipInterfaces(
    absl::StatusOr<std::unique_ptr<T>> store) {
  if (!store.ok()) return store.status();
  std::shared_ptr<T> shared = *std::move(store);
  KmipStoreUnderTest out;
  out.kmip = shared.get();
  out.identity = shared.get();
  out.owner = std::move(shared);
  return out;
}

struct KmipStoreFactory {
  std::string name;
  std::function<absl::StatusOr<KmipStoreUnderTest>(const std::string&)> create;
  std::function<std::string()> skip_reason;
};

#define KW_INSTANTIATE_KMIP_STORE_CONFORMANCE(prefix, factory)            \
  INSTANTIATE_TEST_SUITE_P(prefix, KmipStoreConformanceTest,              \
                           ::testing::Values(factory),                   \
                           [](const auto& info) { return info.param.name; })

namespace kmip_conformance_internal {

inline iam::AuditRecord Audit(std::string action) {
  iam::AuditRecord r;
  r.time = absl::FromUnixSeconds(1700000000);
  r.actor = "IBMid-test";
  r.action = std::move(action);
  r.target = "kmip";
  r.outcome = iam::AuditOutcome::kSuccess;
  r.correlation_id = "c";
  return r;
}

inline KmipAdapter Adapter(std::string id, std::string name,
                           std::string instance = "inst-1") {
  KmipAdapter a;
  a.instance_id = std::move(instance);
  a.id = std::move(id);
  a.name = std::move(name);
  a.description = "d";
  a.profile = "native_1.0";
  a.crk_id = "crk-1";
  a.created_at = absl::FromUnixSeconds(1700000000);
  a.created_by = "IBMid-test";
  a.updated_at = a.created_at;
  a.updated_by = a.created_by;
  return a;
}

inline KmipCertificate Certificate(std::string adapter, std::string id,
                                   char fingerprint_fill) {
  KmipCertificate c;
  c.instance_id = "inst-1";
  c.adapter_id = std::move(adapter);
  c.id = id;
  c.name = "cert-" + id;
  c.pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
  c.fingerprint = std::string(64, fingerprint_fill);
  c.created_at = absl::FromUnixSeconds(1700000000);
  c.created_by = "IBMid-test";
  return c;
}

inline KmipObject Object(std::string adapter, std::string id, int32_t state,
                         int64_t created_s) {
  KmipObject o;
  o.instance_id = "inst-1";
  o.adapter_id = std::move(adapter);
  o.id = std::move(id);
  o.object_type = 2;
  o.algorithm = 3;
  o.length = 256;
  o.key_format = 1;
  o.state = state;
  o.names = {"name-" + o.id};
  o.attributes = std::string("\x42\x00\x01\x00\0\0", 6);
  o.sealed_material = std::string("sealed\0bytes", 12);
  o.created_at = absl::FromUnixSeconds(created_s);
  o.created_by_cert_id = "cert-a";
  o.updated_at = o.created_at;
  o.updated_by_cert_id = "cert-a";
  return o;
}

}  // namespace kmip_conformance_internal

class KmipStoreConformanceTest
    : public ::testing::TestWithParam<KmipStoreFactory> {
 protected:
  void SetUp() override {
    if (GetParam().skip_reason) {
      std::string reason = GetParam().skip_reason();
      if (!reason.empty()) GTEST_SKIP() << reason;
    }
    // A fresh directory of its own (a parameterized test's name holds a
    // `/`, so a name-derived path would nest and outlive the test).
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kw-kmip-store-XXXXXX")
            .string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = GetParam().create(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status();
    under_ = *std::move(s);
    store_ = under_.kmip;
  }
  void TearDown() override {
    under_ = {};
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path dir_;
  KmipStoreUnderTest under_;
  KmipStore* store_ = nullptr;
};

TEST_P(KmipStoreConformanceTest, AdapterRoundTripsByIdAndName) {
  using namespace kmip_conformance_internal;
  KmipAdapter a = Adapter("ad-1", "vsan");
  ASSERT_TRUE(store_->CreateKmipAdapter(a, 200, Audit("kmip_adapter.create")).ok());
  for (std::string key : {"ad-1", "vsan"}) {
    absl::StatusOr<KmipAdapter> got = store_->GetKmipAdapter("inst-1", key);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->id, "ad-1");
    EXPECT_EQ(got->name, "vsan");
    EXPECT_EQ(got->crk_id, "crk-1");
    EXPECT_EQ(got->profile, "native_1.0");
    EXPECT_EQ(got->created_at, a.created_at);
  }
  EXPECT_TRUE(absl::IsNotFound(store_->GetKmipAdapter("inst-2", "ad-1").status()));
  EXPECT_TRUE(absl::IsAlreadyExists(
      store_->CreateKmipAdapter(Adapter("ad-2", "vsan"), 200, Audit("x"))));
  EXPECT_TRUE(absl::IsAlreadyExists(
      store_->CreateKmipAdapter(Adapter("ad-1", "other"), 200, Audit("x"))));
  // The audit record was written with the change.
  auto audit = under_.identity->ListAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "kmip_adapter.create");
}

TEST_P(KmipStoreConformanceTest, AdapterLimitIsPerInstance) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 2, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a2", "n2"), 2, Audit("c")).ok());
  EXPECT_EQ(store_->CreateKmipAdapter(Adapter("a3", "n3"), 2, Audit("c")).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(
      store_->CreateKmipAdapter(Adapter("a3", "n3", "inst-2"), 2, Audit("c")).ok());
  auto list = store_->ListKmipAdapters("inst-1", "", 100, 0);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(*store_->CountKmipAdapters("inst-1", ""), 2);
  EXPECT_EQ(*store_->CountKmipAdapters("inst-1", "crk-other"), 0);
  auto page = store_->ListKmipAdapters("inst-1", "crk-1", 1, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
}

TEST_P(KmipStoreConformanceTest, CertificateFingerprintIsUniqueEverywhere) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a2", "n2"), 200, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipCertificate(Certificate("a1", "c1", 'a'), 200,
                                            Audit("c"))
                  .ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateKmipCertificate(
      Certificate("a2", "c2", 'a'), 200, Audit("c"))));
  EXPECT_TRUE(absl::IsNotFound(store_->CreateKmipCertificate(
      Certificate("nope", "c3", 'b'), 200, Audit("c"))));
  absl::StatusOr<KmipCertificate> found =
      store_->FindKmipCertificate(std::string(64, 'a'));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->adapter_id, "a1");
  EXPECT_EQ(found->pem, Certificate("a1", "c1", 'a').pem);
  EXPECT_TRUE(absl::IsNotFound(
      store_->FindKmipCertificate(std::string(64, 'b')).status()));
  EXPECT_TRUE(store_->GetKmipCertificate("inst-1", "a1", "cert-c1").ok());
  EXPECT_TRUE(absl::IsNotFound(
      store_->GetKmipCertificate("inst-1", "a2", "c1").status()));
}

TEST_P(KmipStoreConformanceTest, CertificateLimitAndDelete) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipCertificate(Certificate("a1", "c1", 'a'), 1,
                                            Audit("c"))
                  .ok());
  EXPECT_EQ(store_->CreateKmipCertificate(Certificate("a1", "c2", 'b'), 1,
                                          Audit("c"))
                .code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*store_->CountKmipCertificates("inst-1", "a1"), 1);
  ASSERT_TRUE(store_->DeleteKmipCertificate("inst-1", "a1", "c1", Audit("d")).ok());
  EXPECT_TRUE(absl::IsNotFound(
      store_->DeleteKmipCertificate("inst-1", "a1", "c1", Audit("d"))));
  EXPECT_TRUE(absl::IsNotFound(
      store_->FindKmipCertificate(std::string(64, 'a')).status()));
}

TEST_P(KmipStoreConformanceTest, ObjectRoundTripsEveryColumn) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  KmipObject o = Object("a1", "o1", 1, 1700000001);
  o.algorithm.reset();
  ASSERT_TRUE(store_->CreateKmipObject(o, std::nullopt).ok());
  absl::StatusOr<KmipObject> got = store_->GetKmipObject("inst-1", "a1", "o1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->object_type, 2);
  EXPECT_FALSE(got->algorithm.has_value());
  EXPECT_EQ(got->length, 256);
  EXPECT_EQ(got->state, 1);
  EXPECT_EQ(got->names, o.names);
  EXPECT_EQ(got->attributes, o.attributes);
  EXPECT_EQ(got->sealed_material, o.sealed_material);
  EXPECT_EQ(got->revision, 1);
  EXPECT_FALSE(got->destroyed_at.has_value());
  // Another adapter never sees it.
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a2", "n2"), 200, Audit("c")).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetKmipObject("inst-1", "a2", "o1").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->CreateKmipObject(
      Object("missing", "o2", 1, 1), std::nullopt)));
  EXPECT_TRUE(absl::IsAlreadyExists(store_->CreateKmipObject(o, std::nullopt)));
}

TEST_P(KmipStoreConformanceTest, UpdateChecksTheRevision) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  KmipObject o = Object("a1", "o1", 1, 1700000001);
  ASSERT_TRUE(store_->CreateKmipObject(o, std::nullopt).ok());
  KmipObject next = o;
  next.revision = 2;
  next.state = 5;
  next.sealed_material.clear();
  next.destroyed_at = absl::FromUnixSeconds(1700000100);
  next.destroyed_by_cert_id = "cert-b";
  ASSERT_TRUE(store_->UpdateKmipObject(next, Audit("kmip_object.destroy")).ok());
  // The same revision again is stale.
  EXPECT_EQ(store_->UpdateKmipObject(next, std::nullopt).code(),
            absl::StatusCode::kAborted);
  KmipObject missing = next;
  missing.id = "o9";
  EXPECT_TRUE(absl::IsNotFound(store_->UpdateKmipObject(missing, std::nullopt)));
  absl::StatusOr<KmipObject> got = store_->GetKmipObject("inst-1", "a1", "o1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->state, 5);
  EXPECT_EQ(got->revision, 2);
  EXPECT_TRUE(got->sealed_material.empty());
  EXPECT_EQ(got->destroyed_at, absl::FromUnixSeconds(1700000100));
  EXPECT_EQ(got->destroyed_by_cert_id, "cert-b");
}

TEST_P(KmipStoreConformanceTest, ListFiltersAndPages) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a2", "n2"), 200, Audit("c")).ok());
  for (int i = 0; i < 6; ++i) {
    KmipObject o = Object("a1", "o" + std::to_string(i), i % 2 == 0 ? 1 : 2,
                          1700000000 + i);
    if (i == 5) o.length = 128;
    ASSERT_TRUE(store_->CreateKmipObject(o, std::nullopt).ok());
  }
  ASSERT_TRUE(store_->CreateKmipObject(Object("a2", "x", 1, 1), std::nullopt).ok());
  KmipObjectQuery q;
  q.instance_id = "inst-1";
  q.adapter_id = "a1";
  auto ids = [&](const KmipObjectQuery& query) {
    std::vector<std::string> out;
    auto list = store_->ListKmipObjects(query);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const KmipObject& o : *list) out.push_back(o.id);
    }
    return out;
  };
  EXPECT_THAT(ids(q), ::testing::ElementsAre("o0", "o1", "o2", "o3", "o4", "o5"));
  EXPECT_EQ(*store_->CountKmipObjects(q), 6);
  q.states = {2};
  EXPECT_THAT(ids(q), ::testing::ElementsAre("o1", "o3", "o5"));
  q.length = 128;
  EXPECT_THAT(ids(q), ::testing::ElementsAre("o5"));
  q.length.reset();
  q.limit = 1;
  q.offset = 1;
  EXPECT_THAT(ids(q), ::testing::ElementsAre("o3"));
  EXPECT_EQ(*store_->CountKmipObjects(q), 3);
  q = {};
  q.instance_id = "inst-1";
  q.adapter_id = "a1";
  q.names = {"name-o4"};
  EXPECT_THAT(ids(q), ::testing::ElementsAre("o4"));
  EXPECT_EQ(*store_->CountKmipObjects(q), 1);
  q.names = {"name-x"};
  EXPECT_THAT(ids(q), ::testing::IsEmpty());
}

// Locate by name (ListKmipObjects with names) against the reference
// predicate "every queried name is one of the object's names", over names
// that hold the characters of the stored encoding (`,` `"` `\` `[` `]`),
// control characters, non-ASCII text and prefixes of each other; with
// pages and counts.
TEST_P(KmipStoreConformanceTest, NameSearchAgreesWithTheReferencePredicate) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a2", "n2"), 200, Audit("c")).ok());
  const std::vector<std::string> vocabulary = {
      "vm", "vm-1", "a,", ",", ",b", "\"q\"", "\"", "x\\", "\\", "[", "]",
      "\",\"", "caf\xc3\xa9", "\x01ctl\x1f", "tab\t", "", " vm"};
  const std::vector<std::vector<std::string>> objects = {
      {},           {"vm"},     {"vm-1"},        {"vm", "vm-1"},
      {"a,", ",b"}, {","},      {"\"q\"", "x\\"}, {"\\", "\""},
      {"[", "]"},   {"\",\""}, {"caf\xc3\xa9"},  {"\x01ctl\x1f"},
      {"tab\t", ""}, {" vm"},  {"vm", "vm"},    {"a,", ",", ",b"}};
  std::vector<KmipObject> made;
  for (size_t i = 0; i < objects.size(); ++i) {
    KmipObject o = Object("a1", "o" + std::to_string(100 + i),
                          i % 3 == 0 ? 2 : 1,
                          1700000000 + static_cast<int64_t>((i * 7) % 5));
    o.names = objects[i];
    ASSERT_TRUE(store_->CreateKmipObject(o, std::nullopt).ok()) << i;
    made.push_back(o);
  }
  // The same names in another adapter are never found from a1.
  KmipObject other = Object("a2", "z", 2, 1700000000);
  other.names = {"vm", ","};
  ASSERT_TRUE(store_->CreateKmipObject(other, std::nullopt).ok());
  // Store order: created_at, then id.
  std::sort(made.begin(), made.end(), [](const KmipObject& a, const KmipObject& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  auto expect_agrees = [&](const KmipObjectQuery& q) {
    std::vector<std::string> want;
    for (const KmipObject& o : made) {
      bool all = q.states.empty() ||
                 std::find(q.states.begin(), q.states.end(), o.state) != q.states.end();
      for (const std::string& n : q.names) {
        all = all && std::find(o.names.begin(), o.names.end(), n) != o.names.end();
      }
      if (all) want.push_back(o.id);
    }
    absl::StatusOr<int64_t> count = store_->CountKmipObjects(q);
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, static_cast<int64_t>(want.size()));
    size_t from = std::min(want.size(), static_cast<size_t>(q.offset));
    size_t to = std::min(want.size(), from + static_cast<size_t>(q.limit));
    std::vector<std::string> page(want.begin() + from, want.begin() + to);
    absl::StatusOr<std::vector<KmipObject>> got = store_->ListKmipObjects(q);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<std::string> ids;
    for (const KmipObject& o : *got) ids.push_back(o.id);
    EXPECT_EQ(ids, page);
  };
  KmipObjectQuery q;
  q.instance_id = "inst-1";
  q.adapter_id = "a1";
  for (const std::string& name : vocabulary) {
    SCOPED_TRACE(testing::Message() << "name `" << name << "`");
    q.names = {name};
    q.limit = 100;
    q.offset = 0;
    expect_agrees(q);
    q.limit = 1;  // Locate's Maximum Items
    expect_agrees(q);
    q.offset = 1;
    expect_agrees(q);
    q.limit = 100;
    q.offset = 0;
    q.states = {2};
    expect_agrees(q);
    q.states.clear();
    for (const std::string& second : vocabulary) {
      q.names = {name, second};
      expect_agrees(q);
    }
  }
  // A name that is not UTF-8, or holds U+0000, is refused, and nothing is
  // written.
  for (std::string name : {std::string("\xc3("), std::string("nul\0x", 5),
                           std::string("\xed\xa0\x80")}) {
    KmipObject bad = Object("a1", "bad", 1, 1700000000);
    bad.names = {"ok", name};
    EXPECT_TRUE(absl::IsInvalidArgument(store_->CreateKmipObject(bad, std::nullopt)));
    EXPECT_TRUE(absl::IsNotFound(store_->GetKmipObject("inst-1", "a1", "bad").status()));
  }
  KmipObject renamed = made.front();
  renamed.revision += 1;
  renamed.names = {"\xff"};
  EXPECT_TRUE(absl::IsInvalidArgument(store_->UpdateKmipObject(renamed, std::nullopt)));
}

TEST_P(KmipStoreConformanceTest, AdapterWithLiveObjectsIsNotDeleted) {
  using namespace kmip_conformance_internal;
  ASSERT_TRUE(store_->CreateKmipAdapter(Adapter("a1", "n1"), 200, Audit("c")).ok());
  ASSERT_TRUE(store_->CreateKmipCertificate(Certificate("a1", "c1", 'a'), 200,
                                            Audit("c"))
                  .ok());
  KmipObject o = Object("a1", "o1", 3, 1700000001);
  ASSERT_TRUE(store_->CreateKmipObject(o, std::nullopt).ok());
  EXPECT_EQ(store_->DeleteKmipAdapter("inst-1", "a1", Audit("d")).code(),
            absl::StatusCode::kFailedPrecondition);
  o.revision = 2;
  o.state = 5;
  ASSERT_TRUE(store_->UpdateKmipObject(o, std::nullopt).ok());
  ASSERT_TRUE(store_->DeleteKmipAdapter("inst-1", "a1", Audit("d")).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetKmipAdapter("inst-1", "a1").status()));
  // Its certificates and destroyed objects went with it.
  EXPECT_TRUE(absl::IsNotFound(
      store_->FindKmipCertificate(std::string(64, 'a')).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->GetKmipObject("inst-1", "a1", "o1").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->DeleteKmipAdapter("inst-1", "a1", Audit("d"))));
}

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_KMIP_STORE_CONFORMANCE_TEST_H_
