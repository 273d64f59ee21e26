#include "keywarden/store/postgres/postgres_store.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>


#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/store/migrations/migrations.h"
#include "keywarden/store/postgres/pg_connection.h"
#include "keywarden/store/sql/sql_internal.h"

namespace keywarden::store {

using postgres_internal::ConnectParams;
using postgres_internal::PgConnection;
using sql_internal::Connection;

namespace {

// Advisory lock keys (pg_advisory_xact_lock(int, int)): the first number
// says "keywarden" ('K' 'W' as a 16-bit tag), the second which lock. Locks
// are per database: two deployments in one database (in two schemas)
// share them, which is correct, only slower.
constexpr int kLockClass = 0x4b57;
constexpr int kWriteLock = 1;
constexpr int kMigrationLock = 2;

// The shape of schema_version is frozen forever: it is how every past and
// future binary tells which schema a database has.
constexpr char kCreateVersionTable[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version BIGINT NOT NULL PRIMARY KEY,"
    " name BYTEA NOT NULL,"
    " applied_time BIGINT NOT NULL)";

bool IsSchemaName(std::string_view name) {
  return !name.empty() && name.size() <= 63 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
             std::string_view::npos &&
         !(name[0] >= '0' && name[0] <= '9');
}

// Refuses a session whose commits return before they are durable: then a
// 2xx could be lost on a crash (store.h's contract).
absl::Status CheckDurable(PgConnection& db) {
  KW_ASSIGN_OR_RETURN(std::string sync, db.Setting("synchronous_commit"));
  if (sync == "off") {
    return absl::FailedPreconditionError(
        "postgres: synchronous_commit is off for this role or database, so "
        "an acknowledged write could be lost; set it to on (or "
        "remote_apply)");
  }
  KW_ASSIGN_OR_RETURN(std::string fsync, db.Setting("fsync"));
  if (fsync != "on") {
    return absl::FailedPreconditionError(
        "postgres: the server runs with fsync off, so an acknowledged write "
        "could be lost");
  }
  return absl::OkStatus();
}

// A notice's payload (at most 8000 bytes, PostgreSQL's limit): a first
// line "ORIGIN SEQ", then one line per change: "*" (all), "k\tINSTANCE\tKEY",
// "i" (identity), "s" (signing keys), "p" (instance policies), "w"
// (webhooks), "m" (KMIP adapters, certificates, objects). Too many changes for one payload collapse to "*".
constexpr size_t kMaxPayload = 7900;

bool IsPlainId(std::string_view id) {
  for (char ch : id) {
    if (ch <= ' ' || ch > '~') return false;
  }
  return !id.empty();
}

std::string ChangeLine(const Change& c) {
  switch (c.kind) {
    case Change::Kind::kKey:
      // The payload is text: ids of other bytes (none that the API makes)
      // fall back to "*" rather than fail the commit.
      if (!IsPlainId(c.instance_id) || !IsPlainId(c.key_id)) return "*";
      return absl::StrCat("k\t", c.instance_id, "\t", c.key_id);
    case Change::Kind::kIdentity:
      return "i";
    case Change::Kind::kSigningKeys:
      return "s";
    case Change::Kind::kInstancePolicies:
      return "p";
    case Change::Kind::kWebhooks:
      return "w";
    case Change::Kind::kKmip:
      return "m";
    case Change::Kind::kAll:
      break;
  }
  return "*";
}

std::optional<Change> ParseChangeLine(std::string_view line) {
  if (line == "i") return Change::Of(Change::Kind::kIdentity);
  if (line == "s") return Change::Of(Change::Kind::kSigningKeys);
  if (line == "p") return Change::Of(Change::Kind::kInstancePolicies);
  if (line == "w") return Change::Of(Change::Kind::kWebhooks);
  if (line == "m") return Change::Of(Change::Kind::kKmip);
  std::vector<std::string> parts = absl::StrSplit(AbslView(line), '\t');
  if (parts.size() == 3 && parts[0] == "k") {
    return Change::Key(std::move(parts[1]), std::move(parts[2]));
  }
  return std::nullopt;  // "*" or anything this binary does not know
}

absl::StatusOr<int64_t> ReadSeq(Connection& db) {
  KW_ASSIGN_OR_RETURN(
      sql_internal::Statement st,
      db.Prepare("SELECT seq FROM change_feed WHERE id = 1"));
  KW_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::DataLossError("postgres: change_feed has no row");
  return st.Int64(0);
}

}  // namespace

int PostgresStore::LatestSchemaVersion() {
  return static_cast<int>(EmbeddedPostgresMigrations().size());
}

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    Options options) {
  if (!absl::StartsWith(options.url, "postgresql://") &&
      !absl::StartsWith(options.url, "postgres://")) {
    return absl::InvalidArgumentError(
        "postgres store needs a postgresql:// URL");
  }
  if (!options.schema.empty() && !IsSchemaName(options.schema)) {
    return absl::InvalidArgumentError(
        "postgres schema name must be [a-z_][a-z0-9_]*, at most 63 bytes");
  }
  if (options.read_connections < 1 || options.max_group_commit < 1) {
    return absl::InvalidArgumentError(
        "read_connections and max_group_commit must be >= 1");
  }
  ConnectParams params;
  params.url = options.url;
  params.password = options.password;
  params.schema = options.schema;
  params.connect_timeout = options.connect_timeout;
  KW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer,
                      PgConnection::Open(params));
  KW_RETURN_IF_ERROR(CheckDurable(*writer));
  // DDL is transactional in PostgreSQL: the schema, the tables and the
  // version rows appear together or not at all, and the lock makes nodes
  // that start together take turns (the later ones find nothing to do).
  KW_RETURN_IF_ERROR(writer->Exec(
      absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kLockClass, ", ",
                   kMigrationLock, ")")));
  absl::Status migrated = absl::OkStatus();
  if (!options.schema.empty()) {
    migrated = writer->Exec(
        absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", options.schema));
  }
  if (migrated.ok()) {
    migrated = sql_internal::Migrate(*writer, EmbeddedPostgresMigrations(),
                                     kCreateVersionTable);
  }
  if (migrated.ok()) migrated = writer->Exec("COMMIT");
  if (!migrated.ok()) {
    writer->Exec("ROLLBACK").IgnoreError();
    return migrated;
  }
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    KW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> reader,
                        PgConnection::Open(params));
    readers.push_back(std::move(reader));
  }
  KW_ASSIGN_OR_RETURN(const int64_t seq, ReadSeq(*writer));
  std::unique_ptr<PostgresStore> store(new PostgresStore(
      std::move(writer), std::move(readers), options.max_group_commit));
  if (!options.schema.empty()) {
    store->channel_ = absl::StrCat("kw_changes_", options.schema).substr(0, 63);
  }
  store->options_ = std::move(options);
  store->opened_seq_ = seq;
  return store;
}

PostgresStore::PostgresStore(std::unique_ptr<Connection> writer,
                             std::vector<std::unique_ptr<Connection>> readers,
                             int max_group_commit)
    : SqlStore(std::move(writer), std::move(readers), max_group_commit) {
  std::random_device rd;
  origin_ = absl::StrCat(absl::Hex(rd(), absl::kZeroPad8),
                         absl::Hex(rd(), absl::kZeroPad8));
}

PostgresStore::~PostgresStore() {
  stop_feed_.Notify();
  if (feed_.joinable()) feed_.join();
}

absl::Status PostgresStore::PublishChangesLocked(
    Connection& db, std::span<const Change> changes) {
  int64_t seq = 0;
  {
    KW_ASSIGN_OR_RETURN(
        sql_internal::Statement st,
        db.Prepare("UPDATE change_feed SET seq = seq + 1 WHERE id = 1"
                   " RETURNING seq"));
    KW_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::DataLossError("postgres: change_feed has no row");
    seq = st.Int64(0);
  }
  std::string payload = absl::StrCat(origin_, " ", seq);
  std::vector<std::string> lines;
  for (const Change& c : changes) lines.push_back(ChangeLine(c));
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  size_t size = payload.size();
  for (const std::string& l : lines) size += l.size() + 1;
  if (size > kMaxPayload ||
      std::find(lines.begin(), lines.end(), "*") != lines.end()) {
    lines.assign(1, "*");
  }
  for (const std::string& l : lines) absl::StrAppend(&payload, "\n", l);
  // Delivered when (and only if) the transaction commits.
  KW_ASSIGN_OR_RETURN(sql_internal::Statement st,
                      db.Prepare(absl::StrCat("SELECT 1 FROM pg_notify('",
                                              channel_, "', ?)")));
  st.BindText(1, payload);
  return st.Step().status();
}

absl::Status PostgresStore::StartChangeFeed(ChangeFeedOptions options) {
  const absl::Duration poll_interval = options.poll_interval;
  if (poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("change poll interval must be > 0");
  }
  if (feed_.joinable()) {
    return absl::FailedPreconditionError("change feed already started");
  }
  // Listening before this returns: every commit from now on is heard.
  KW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn,
                      PgConnection::Open(FeedParams()));
  KW_RETURN_IF_ERROR(conn->Exec(absl::StrCat("LISTEN ", channel_)));
  KW_RETURN_IF_ERROR(SqlStore::StartChangeFeed(std::move(options)));
  feed_ = std::thread([this, poll_interval, c = conn.release()] {
    RunFeed(poll_interval, std::unique_ptr<PgConnection>(c));
  });
  return absl::OkStatus();
}

void PostgresStore::OnNotice(std::string_view payload, int64_t& last_seq) {
  std::vector<std::string> lines = absl::StrSplit(AbslView(payload), '\n');
  std::vector<std::string> head = absl::StrSplit(lines[0], ' ');
  int64_t seq = 0;
  if (head.size() != 2 || !absl::SimpleAtoi(head[1], &seq)) {
    OnRemoteChange(Change::All());  // not ours to read: forget everything
    return;
  }
  // Commits are serialised by the write lock, and notices arrive in commit
  // order: a gap is a notice this session missed.
  const bool gap = seq > last_seq + 1;
  last_seq = std::max(last_seq, seq);
  if (gap) {
    OnRemoteChange(Change::All());
    return;
  }
  if (head[0] == origin_) return;  // applied here before it was sent
  for (size_t i = 1; i < lines.size(); ++i) {
    std::optional<Change> c = ParseChangeLine(lines[i]);
    OnRemoteChange(c.has_value() ? *c : Change::All());
  }
}

ConnectParams PostgresStore::FeedParams() const {
  ConnectParams params;
  params.url = options_.url;
  params.password = options_.password;
  params.schema = options_.schema;
  params.connect_timeout = options_.connect_timeout;
  return params;
}

void PostgresStore::RunFeed(absl::Duration poll_interval,
                            std::unique_ptr<PgConnection> conn) {
  const ConnectParams params = FeedParams();
  int pid = conn->BackendPid();
  int64_t last_seq = opened_seq_;
  bool lost_logged = false;
  absl::Time next_poll = absl::InfinitePast();
  auto notice = [this, &last_seq](std::string_view payload) {
    OnNotice(payload, last_seq);
  };
  auto lost = [&](const absl::Status& why) {
    conn.reset();
    // Fail closed: while this node cannot hear the others, it keeps
    // nothing that another node might have changed.
    OnRemoteChange(Change::All());
    if (!lost_logged) ReportFeedState(why);
    lost_logged = true;
  };
  while (!stop_feed_.HasBeenNotified()) {
    if (conn == nullptr) {
      absl::StatusOr<std::unique_ptr<PgConnection>> opened =
          PgConnection::Open(params);
      absl::Status s = opened.status();
      if (s.ok()) {
        s = (*opened)->Exec(absl::StrCat("LISTEN ", channel_));
      }
      if (!s.ok()) {
        lost(s);
        stop_feed_.WaitForNotificationWithTimeout(poll_interval);
        continue;
      }
      conn = *std::move(opened);
      pid = conn->BackendPid();
      next_poll = absl::InfinitePast();  // read seq at once
      if (lost_logged) ReportFeedState(absl::OkStatus());
      lost_logged = false;
    }
    if (absl::Now() >= next_poll) {
      next_poll = absl::Now() + poll_interval;
      absl::StatusOr<int64_t> seq = ReadSeq(*conn);
      if (seq.ok() && conn->BackendPid() != pid) {
        seq = absl::UnavailableError("postgres: session reopened");
      }
      if (!seq.ok()) {
        lost(seq.status());
        continue;
      }
      // Notices that came with the read first, then the counter: a seq
      // beyond every notice heard means one was missed.
      if (absl::Status s = conn->AwaitNotices(absl::ZeroDuration(), notice);
          !s.ok()) {
        lost(s);
        continue;
      }
      if (*seq != last_seq) {
        last_seq = *seq;
        OnRemoteChange(Change::All());
      }
    }
    if (absl::Status s = conn->AwaitNotices(poll_interval, notice); !s.ok()) {
      lost(s);
    }
  }
}

absl::Status PostgresStore::BeginWrite(Connection& db) {
  // Held until COMMIT or ROLLBACK: one writer at a time across every node,
  // each seeing every earlier commit (READ COMMITTED takes a new snapshot
  // per statement, after the lock is granted).
  static const std::string kBegin = absl::StrCat(
      "BEGIN; SELECT pg_advisory_xact_lock(", kLockClass, ", ", kWriteLock,
      ")");
  return db.Exec(kBegin);
}

}  // namespace keywarden::store
