#include "keywarden/store/postgres/postgres_store.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/store/identity_store_conformance_test.h"
#include "keywarden/store/kmip_store_conformance_test.h"
#include "keywarden/store/migrations/migrations.h"
#include "keywarden/store/postgres/pg_connection.h"
#include "keywarden/store/store_conformance_test.h"

namespace keywarden::store {

namespace pg_test {

// The server under test: KEYWARDEN_TEST_PG_URL, or the URL in the file
// KEYWARDEN_TEST_PG_URL_FILE names (written by scripts/pg-test-cluster.sh,
// which the ctest fixture and scripts/test.sh run). Empty without one.
std::string ServerUrl() {
  if (const char* url = getenv("KEYWARDEN_TEST_PG_URL");
      url != nullptr && *url != '\0') {
    return url;
  }
  if (const char* file = getenv("KEYWARDEN_TEST_PG_URL_FILE");
      file != nullptr && *file != '\0') {
    std::ifstream in(file);
    std::string url;
    std::getline(in, url);
    return std::string(absl::StripAsciiWhitespace(url));
  }
  return "";
}

// Why the PostgreSQL tests cannot run here; empty when they can, or when
// KEYWARDEN_TEST_PG_REQUIRED=1 (make test) turns a missing server into a
// failure instead.
std::string SkipReason() {
  if (!ServerUrl().empty()) return "";
  const char* required = getenv("KEYWARDEN_TEST_PG_REQUIRED");
  if (required != nullptr && std::string(required) == "1") return "";
  return "no PostgreSQL server for this test: set KEYWARDEN_TEST_PG_URL="
         "postgresql://user@127.0.0.1:PORT/db (scripts/test.sh and ctest's "
         "postgres_cluster_start fixture start a throw-away one with "
         "scripts/pg-test-cluster.sh)";
}

// Runs one SQL text on the server, outside any store; returns the first
// value of the first row ("" if none), or fails the test.
std::string Sql(const std::string& sql) {
  PGconn* conn = PQconnectdb(ServerUrl().c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
      << sql << ": " << PQresultErrorMessage(r);
  std::string out;
  if (status == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  PQclear(r);
  PQfinish(conn);
  return out;
}

// Schemas this process created; dropped when the process ends, so a server
// shared with other runs does not fill up.
class Schemas : public ::testing::Environment {
 public:
  static std::string Fresh() {
    static std::atomic<int> next{0};
    std::string name = absl::StrCat("kw_test_", getpid(), "_", next++);
    absl::MutexLock lock(&mu_);
    created_.push_back(name);
    return name;
  }
  void TearDown() override {
    absl::MutexLock lock(&mu_);
    if (ServerUrl().empty()) return;
    for (const std::string& s : created_) {
      Sql(absl::StrCat("DROP SCHEMA IF EXISTS ", s, " CASCADE"));
    }
    created_.clear();
  }

 private:
  static absl::Mutex mu_;
  static std::vector<std::string> created_;
};
absl::Mutex Schemas::mu_;
std::vector<std::string> Schemas::created_;
const auto* const kSchemas = ::testing::AddGlobalTestEnvironment(new Schemas);

PostgresStore::Options OptionsFor(const std::string& schema) {
  PostgresStore::Options o;
  o.url = ServerUrl();
  o.schema = schema;
  // Two read sessions still let reads overlap (and queue beyond); fewer
  // sessions make each test's Open cheaper.
  o.read_connections = 2;
  return o;
}

absl::StatusOr<std::unique_ptr<PostgresStore>> OpenFresh() {
  if (ServerUrl().empty()) {
    return absl::FailedPreconditionError(
        "KEYWARDEN_TEST_PG_REQUIRED=1 but no PostgreSQL server was given "
        "(KEYWARDEN_TEST_PG_URL or KEYWARDEN_TEST_PG_URL_FILE)");
  }
  return PostgresStore::Open(OptionsFor(Schemas::Fresh()));
}

}  // namespace pg_test

KW_INSTANTIATE_STORE_CONFORMANCE(
    Postgres, (StoreFactory{"Postgres",
                            [](const std::string&)
                                -> absl::StatusOr<std::unique_ptr<Store>> {
                              return pg_test::OpenFresh();
                            },
                            &pg_test::SkipReason}));

KW_INSTANTIATE_IDENTITY_STORE_CONFORMANCE(
    Postgres, (IdentityStoreFactory{
                  "Postgres",
                  [](const std::string&)
                      -> absl::StatusOr<IdentityStoreUnderTest> {
                    return BothInterfaces(pg_test::OpenFresh());
                  },
                  &pg_test::SkipReason}));

KW_INSTANTIATE_KMIP_STORE_CONFORMANCE(
    Postgres, (KmipStoreFactory{"Postgres",
                                [](const std::string&)
                                    -> absl::StatusOr<KmipStoreUnderTest> {
                                  return KmipInterfaces(pg_test::OpenFresh());
                                },
                                &pg_test::SkipReason}));


namespace {

using conformance_internal::MakeKey;
using conformance_internal::StoreAudit;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PgPlaceholdersTest, NumbersBareAndKeepsNumberedAndQuoted) {
  int n = 0;
  EXPECT_EQ(postgres_internal::TranslatePlaceholders(
                "SELECT a FROM t WHERE b = ? AND c = '?' AND \"?\" = ?", n),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND \"?\" = $2");
  EXPECT_EQ(n, 2);
  EXPECT_EQ(postgres_internal::TranslatePlaceholders(
                "SET a = ?1, b = ?2 WHERE c = ?3 OR d = ?1", n),
            "SET a = $1, b = $2 WHERE c = $3 OR d = $1");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(postgres_internal::TranslatePlaceholders("SELECT 'it''s?'", n),
            "SELECT 'it''s?'");
  EXPECT_EQ(n, 0);
}

TEST(EmbeddedPostgresMigrationsTest, AreNumberedOneToNWithSql) {
  const auto migrations = EmbeddedPostgresMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(migrations[i].sql.empty());
  }
  EXPECT_EQ(PostgresStore::LatestSchemaVersion(),
            static_cast<int>(migrations.size()));
}

TEST(PostgresStoreOpenTest, RefusesWhatIsNotAPostgresUrlOrSchema) {
  PostgresStore::Options o;
  o.url = "sqlite:///tmp/x.db";
  EXPECT_EQ(PostgresStore::Open(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.url = "postgresql://u@127.0.0.1:1/db";
  for (const char* bad : {"Public", "a-b", "x;drop", "1abc", "a b"}) {
    o.schema = bad;
    EXPECT_EQ(PostgresStore::Open(o).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(PostgresStoreOpenTest, UnreachableServerIsUnavailableWithoutThePassword) {
  PostgresStore::Options o;
  // Port 1 on loopback: nothing listens, the connection is refused.
  o.url = "postgresql://keywarden:s3cret-pw@127.0.0.1:1/kw";
  o.connect_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(), Not(HasSubstr("s3cret-pw")));
  o.url = "postgresql://keywarden@127.0.0.1:1/kw";
  o.password = "s3cret-pw";
  s = PostgresStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), Not(HasSubstr("s3cret-pw")));
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = pg_test::SkipReason(); !reason.empty()) {
      GTEST_SKIP() << reason;
    }
    ASSERT_FALSE(pg_test::ServerUrl().empty())
        << "KEYWARDEN_TEST_PG_REQUIRED=1 but no PostgreSQL server was given";
    schema_ = pg_test::Schemas::Fresh();
  }
  absl::StatusOr<std::unique_ptr<PostgresStore>> Open() {
    return PostgresStore::Open(pg_test::OptionsFor(schema_));
  }
  std::string Sql(const std::string& sql) {
    return pg_test::Sql(absl::StrCat("SET search_path = ", schema_, "; ", sql));
  }

  std::string schema_;
};

TEST_F(PostgresStoreTest, MigrationsAreAppliedOnceAcrossReopens) {
  { ASSERT_TRUE(Open().ok()); }
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(Sql("SELECT count(*) FROM schema_version"),
            absl::StrCat(PostgresStore::LatestSchemaVersion()));
}

TEST_F(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
  constexpr int kNodes = 6;
  std::vector<absl::Status> results(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] { results[i] = Open().status(); });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Sql("SELECT count(*) FROM schema_version"),
            absl::StrCat(PostgresStore::LatestSchemaVersion()));
}

TEST_F(PostgresStoreTest, NewerSchemaIsRefusedAndLeftUntouched) {
  { ASSERT_TRUE(Open().ok()); }
  Sql("INSERT INTO schema_version VALUES (99, 'future', 0)");
  auto store = Open();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
  EXPECT_EQ(Sql("SELECT max(version) FROM schema_version"), "99");
}

TEST_F(PostgresStoreTest, RefusesASessionThatAcknowledgesBeforeDurable) {
  PostgresStore::Options o = pg_test::OptionsFor(schema_);
  o.url += (o.url.find('?') == std::string::npos ? "?" : "&");
  o.url += "options=-csynchronous_commit%3Doff";
  auto store = PostgresStore::Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("synchronous_commit"));
}

TEST_F(PostgresStoreTest, StringsAreStoredAsBytesAndTimesAsMicroseconds) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  keys::Key k = MakeKey("inst", "k1");
  k.name = std::string("n\0\xff\\x", 5);
  k.creation_time = absl::FromUnixMicros(1700000000123456);
  ASSERT_TRUE((*store)->CreateKey(k).ok());
  EXPECT_EQ(Sql("SELECT encode(name, 'hex') FROM keys"), "6e00ff5c78");
  EXPECT_EQ(Sql("SELECT creation_time FROM keys"), "1700000000123456");
  auto got = (*store)->GetKey("inst", "k1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, k.name);
}

TEST_F(PostgresStoreTest, TwoNodesWritingAtOnceKeepOneAuditChain) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    PostgresStore* node = (t % 2 == 0 ? *a : *b).get();
    threads.emplace_back([&, node, t] {
      for (int i = 0; i < kPerThread; ++i) {
        keys::Key k = MakeKey("inst", absl::StrCat("k", t, "-", i));
        if (!node->CreateKey(k, StoreAudit("key.create")).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE((*a)->VerifyAuditChain().ok());
  auto audit = (*b)->ListAudit(0, 1000);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 4u * kPerThread);
  for (size_t i = 0; i < audit->size(); ++i) {
    EXPECT_EQ((*audit)[i].seq, static_cast<int64_t>(i) + 1);
  }
  // What one node wrote, the other reads at once.
  EXPECT_TRUE((*b)->GetKey("inst", "k0-0").ok());
  EXPECT_TRUE((*a)->GetKey("inst", "k1-0").ok());
}

// What a store's change feed reported, for a test to wait on.
class Heard {
 public:
  ChangeFeedOptions Feed() {
    ChangeFeedOptions o;
    o.poll_interval = absl::Milliseconds(50);
    o.listener = [this](const Change& c) {
      absl::MutexLock lock(&mu_);
      changes_.push_back(c);
    };
    return o;
  }
  // Waits (up to 10 s) until a change satisfies `pred`.
  bool WaitFor(std::function<bool(const Change&)> pred) {
    struct Wait {
      const std::vector<Change>* changes;
      std::function<bool(const Change&)>* pred;
    };
    absl::MutexLock lock(&mu_);
    Wait w{&changes_, &pred};
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Wait* w) {
              for (const Change& c : *w->changes) {
                if ((*w->pred)(c)) return true;
              }
              return false;
            },
            &w),
        absl::Seconds(10));
  }
  // Waits (up to 10 s) until `n` changes satisfy `pred`.
  bool WaitForCount(std::function<bool(const Change&)> pred, size_t n) {
    struct Wait {
      const std::vector<Change>* changes;
      std::function<bool(const Change&)>* pred;
      size_t n;
    };
    absl::MutexLock lock(&mu_);
    Wait w{&changes_, &pred, n};
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Wait* w) {
              size_t seen = 0;
              for (const Change& c : *w->changes) seen += (*w->pred)(c);
              return seen >= w->n;
            },
            &w),
        absl::Seconds(10));
  }
  bool HasKey(const std::string& key_id) {
    absl::MutexLock lock(&mu_);
    for (const Change& c : changes_) {
      if (c.kind == Change::Kind::kKey && c.key_id == key_id) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
};

bool IsKey(const Change& c, const std::string& key_id) {
  return c.kind == Change::Kind::kKey && c.instance_id == "inst" &&
         c.key_id == key_id;
}

TEST_F(PostgresStoreTest, ChangeFeedTellsOtherNodesWhatCommitted) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a.ok() && b.ok());
  Heard heard_a, heard_b;
  ASSERT_TRUE((*a)->StartChangeFeed(heard_a.Feed()).ok());
  ASSERT_TRUE((*b)->StartChangeFeed(heard_b.Feed()).ok());

  ASSERT_TRUE((*a)->CreateKey(MakeKey("inst", "k1")).ok());
  EXPECT_TRUE(heard_b.WaitFor([](const Change& c) { return IsKey(c, "k1"); }));
  ASSERT_TRUE((*b)->CreateKey(MakeKey("inst", "k2")).ok());
  EXPECT_TRUE(heard_a.WaitFor([](const Change& c) { return IsKey(c, "k2"); }));
  // Notices arrive in commit order: a heard k2, so it had its own k1 notice
  // before, and skipped it.
  EXPECT_FALSE(heard_a.HasKey("k1"));
  EXPECT_FALSE(heard_b.HasKey("k2"));

  iam::PrincipalRecord p;
  p.id = "user-1";
  p.kind = iam::PrincipalKind::kUser;
  p.name = "one";
  p.creation_time = absl::FromUnixSeconds(1700000000);
  p.created_by = "test";
  ASSERT_TRUE((*a)->CreatePrincipal(p, StoreAudit("iam.principal.create")).ok());
  EXPECT_TRUE(heard_b.WaitFor(
      [](const Change& c) { return c.kind == Change::Kind::kIdentity; }));

  // Writes that change nothing a node caches announce nothing.
  const std::string seq = Sql("SELECT seq FROM change_feed");
  ASSERT_TRUE((*a)->TryAcquireLease("job", "a", absl::Now(), absl::Seconds(5))
                  .ok());
  ASSERT_TRUE((*a)->AppendAudit(StoreAudit("auth.failure")).ok());
  EXPECT_EQ(Sql("SELECT seq FROM change_feed"), seq);
}

// A KMIP certificate deleted on one node: the other hears kKmip, on which
// run_server.cc drops its KmipCache (service/kmip_cache.h), so the
// certificate stops there within the feed's bound.
TEST_F(PostgresStoreTest, ChangeFeedTellsOtherNodesOfKmipChanges) {
  namespace k = kmip_conformance_internal;
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a.ok() && b.ok());
  Heard heard_b;
  ASSERT_TRUE((*b)->StartChangeFeed(heard_b.Feed()).ok());
  auto is_kmip = [](const Change& c) { return c.kind == Change::Kind::kKmip; };

  ASSERT_TRUE(
      (*a)->CreateKmipAdapter(k::Adapter("ad-1", "adapter-1"), 200,
                              k::Audit("kms.kmip-management.create"))
          .ok());
  ASSERT_TRUE((*a)->CreateKmipCertificate(k::Certificate("ad-1", "c-1", 'a'),
                                          200,
                                          k::Audit("kms.kmip-management.create"))
                  .ok());
  // One notice per committed write: the adapter's and the certificate's.
  ASSERT_TRUE(heard_b.WaitForCount(is_kmip, 2));
  // b found the certificate (as its KMIP listener would, and cached it).
  ASSERT_TRUE((*b)->FindKmipCertificate(std::string(64, 'a')).ok());

  const std::string seq = Sql("SELECT seq FROM change_feed");
  ASSERT_TRUE((*a)->DeleteKmipCertificate("inst-1", "ad-1", "c-1",
                                          k::Audit("kms.kmip-management.delete"))
                  .ok());
  // The deletion bumped the counter and b hears it as kKmip.
  EXPECT_NE(Sql("SELECT seq FROM change_feed"), seq);
  EXPECT_TRUE(heard_b.WaitForCount(is_kmip, 3));
  EXPECT_TRUE(absl::IsNotFound(
      (*b)->FindKmipCertificate(std::string(64, 'a')).status()));
}

TEST_F(PostgresStoreTest, ChangeFeedLostDropsEverything) {
  auto a = Open();
  ASSERT_TRUE(a.ok()) << a.status();
  Heard heard;
  ASSERT_TRUE((*a)->StartChangeFeed(heard.Feed()).ok());
  // Ends the LISTEN session with every other (as a failover would): the
  // node cannot know what it missed, so it drops every cache.
  pg_test::Sql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE application_name = 'keywarden' AND pid <> pg_backend_pid()");
  EXPECT_TRUE(heard.WaitFor(
      [](const Change& c) { return c.kind == Change::Kind::kAll; }));
}

TEST_F(PostgresStoreTest, SessionsKilledByTheServerAreReopened) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->CreateKey(MakeKey("inst", "k1")).ok());
  // Ends every keywarden session of this test's schema (an administrator's
  // pg_terminate_backend, or a failover).
  pg_test::Sql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE application_name = 'keywarden' AND pid <> pg_backend_pid()");
  EXPECT_TRUE((*store)->GetKey("inst", "k1").ok());
  EXPECT_TRUE((*store)->CreateKey(MakeKey("inst", "k2")).ok());
  EXPECT_TRUE((*store)->GetKey("inst", "k2").ok());
}

TEST_F(PostgresStoreTest, PurgeLeavesNoRowOfTheMaterial) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  keys::Key k = MakeKey("inst", "k1");
  k.versions[0].sealed_material = std::vector<uint8_t>(48, 0xAB);
  ASSERT_TRUE((*store)->CreateKey(k).ok());
  const absl::Time before = k.last_update_time;
  k.state = keys::KeyState::kDestroyed;
  k.deletion_time = k.last_update_time = before + absl::Seconds(1);
  ASSERT_TRUE((*store)->UpdateKey(k, before).ok());
  ASSERT_TRUE((*store)
                  ->PurgeKey("inst", "k1", k.last_update_time,
                             StoreAudit("key.purge"))
                  .ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM key_versions"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM keys"), "0");
}

TEST_F(PostgresStoreTest, AuditLogRefusesUpdateDeleteAndTruncate) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->AppendAudit(StoreAudit("auth.fail")).ok());
  PGconn* conn = PQconnectdb(pg_test::ServerUrl().c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
  for (const char* sql :
       {"UPDATE %s.audit_log SET actor = 'x'", "DELETE FROM %s.audit_log",
        "TRUNCATE %s.audit_log"}) {
    std::string text = sql;
    text.replace(text.find("%s"), 2, schema_);
    PGresult* r = PQexec(conn, text.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR) << text;
    PQclear(r);
  }
  PQfinish(conn);
  EXPECT_TRUE((*store)->VerifyAuditChain().ok());
}

}  // namespace
}  // namespace keywarden::store
