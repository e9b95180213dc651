#include "collector/incidents/incident_store.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "collector/incidents/store_impl.h"

namespace vigil::collector::incidents {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kLedgerBucketNs = 3600 * kNsPerSecond;

// Migrations: entry i upgrades user_version i to i + 1. Append only; never
// edit a released entry (databases in the field have run it).
constexpr std::string_view kMigrations[] = {
    // 0 -> 1: initial schema. Content tables hold each record kind's fields
    // in the canonical order of chain_record.cpp; `records` holds the chain.
    R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE records(seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,
                     recorded_ns INTEGER NOT NULL, hash BLOB NOT NULL);
CREATE TABLE genesis(seq INTEGER PRIMARY KEY, store_id TEXT NOT NULL,
                     schema_version INTEGER NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE alerts(seq INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL,
  alert_kind TEXT NOT NULL, rule_id TEXT NOT NULL, rule_title TEXT NOT NULL,
  level TEXT NOT NULL, author TEXT NOT NULL, tags TEXT NOT NULL, rule_file TEXT NOT NULL,
  rule_file_hash TEXT NOT NULL, ruleset_hash TEXT NOT NULL, shadow INTEGER NOT NULL,
  group_key TEXT NOT NULL, agent_id TEXT NOT NULL, agency TEXT NOT NULL,
  batch_sequence INTEGER NOT NULL, capture_drop_ratio REAL NOT NULL,
  event_time_ns INTEGER NOT NULL, received_ns INTEGER NOT NULL,
  matched_fields TEXT NOT NULL, events TEXT NOT NULL, suppressed_count INTEGER NOT NULL,
  message TEXT NOT NULL);
CREATE INDEX alerts_by_event_time ON alerts(event_time_ns);
CREATE INDEX alerts_by_incident ON alerts(incident_id);
CREATE TABLE incident_changes(seq INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL,
  action TEXT NOT NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL,
  changed_by TEXT NOT NULL, note TEXT NOT NULL);
CREATE INDEX incident_changes_by_incident ON incident_changes(incident_id);
CREATE TABLE coverage(seq INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, agency TEXT NOT NULL,
  event TEXT NOT NULL, occurred_ns INTEGER NOT NULL, window_start_ns INTEGER NOT NULL,
  window_end_ns INTEGER NOT NULL, first_sequence INTEGER NOT NULL,
  last_sequence INTEGER NOT NULL, batches INTEGER NOT NULL, records INTEGER NOT NULL,
  drop_ratio REAL NOT NULL, detail TEXT NOT NULL);
CREATE INDEX coverage_by_time ON coverage(occurred_ns);
CREATE TABLE exports(seq INTEGER PRIMARY KEY, exporter TEXT NOT NULL, filters TEXT NOT NULL,
  since_ns INTEGER NOT NULL, until_ns INTEGER NOT NULL, format TEXT NOT NULL,
  row_count INTEGER NOT NULL, file_sha256 TEXT NOT NULL, head_seq INTEGER NOT NULL,
  head_hash TEXT NOT NULL, output TEXT NOT NULL);
CREATE TABLE prunes(seq INTEGER PRIMARY KEY, cutoff_ns INTEGER NOT NULL,
  pruned_through_seq INTEGER NOT NULL, pruned_through_hash TEXT NOT NULL,
  records_removed INTEGER NOT NULL, alerts_removed INTEGER NOT NULL, pruned_by TEXT NOT NULL);
CREATE TABLE checkpoints(seq INTEGER PRIMARY KEY, covers_seq INTEGER NOT NULL,
  covers_hash TEXT NOT NULL, reason TEXT NOT NULL, key_id TEXT NOT NULL, signature BLOB NOT NULL);
CREATE TABLE incidents(id INTEGER PRIMARY KEY AUTOINCREMENT, rule_id TEXT NOT NULL,
  rule_title TEXT NOT NULL, level TEXT NOT NULL, agency TEXT NOT NULL, group_key TEXT NOT NULL,
  shadow INTEGER NOT NULL, status TEXT NOT NULL, first_seen_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL, alert_count INTEGER NOT NULL, suppressed_count INTEGER NOT NULL,
  first_alert_seq INTEGER NOT NULL, last_alert_seq INTEGER NOT NULL,
  status_changed_ns INTEGER NOT NULL, status_by TEXT NOT NULL, status_note TEXT NOT NULL);
CREATE INDEX incidents_by_key ON incidents(rule_id, agency, group_key, shadow, last_seen_ns);
CREATE INDEX incidents_by_status ON incidents(status, last_seen_ns);
CREATE TABLE agents(agent_id TEXT PRIMARY KEY, agency TEXT NOT NULL,
  high_water INTEGER NOT NULL, batches INTEGER NOT NULL, events INTEGER NOT NULL,
  first_commit_ns INTEGER NOT NULL, last_commit_ns INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE ledger(agent_id TEXT NOT NULL, hour_ns INTEGER NOT NULL,
  batches INTEGER NOT NULL, events INTEGER NOT NULL,
  PRIMARY KEY(agent_id, hour_ns)) WITHOUT ROWID;
)sql",
    // 1 -> 2: loss reports are named by the agent (report_id) and resent
    // after reconnects and restarts; each (agent, report_id) is recorded once.
    // Not chained: it only filters resends before they become records, and
    // `seq` names the coverage record that holds the report.
    R"sql(
CREATE TABLE loss_report_ids(agent_id TEXT NOT NULL, report_id TEXT NOT NULL,
  seq INTEGER NOT NULL, PRIMARY KEY(agent_id, report_id)) WITHOUT ROWID;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

std::string_view LevelText(engine::Level level) {
  switch (level) {
    case engine::Level::kInformational:
      return "informational";
    case engine::Level::kLow:
      return "low";
    case engine::Level::kMedium:
      return "medium";
    case engine::Level::kHigh:
      return "high";
    case engine::Level::kCritical:
      return "critical";
  }
  return "medium";
}

size_t LevelIndex(std::string_view level) {
  static constexpr std::string_view kNames[] = {"informational", "low", "medium", "high",
                                                "critical"};
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == level) return i;
  }
  return 2;  // unknown text in an old row: counted as medium
}

// Recounts open (not closed, not shadow) incidents, in total and by level.
void RefreshOpenIncidents(Connection& db, StoreStats& stats) {
  auto open = db.QueryInt("SELECT count(*) FROM incidents WHERE status != 'closed' AND shadow = 0");
  if (open) stats.incidents_open.store(*open);
  auto s = db.Prepare(
      "SELECT level, count(*) FROM incidents WHERE status != 'closed' AND shadow = 0 "
      "GROUP BY level");
  if (!s) return;
  std::array<int64_t, StoreStats::kLevels> counts{};
  for (;;) {
    auto row = s->Step();
    if (!row || !*row) break;
    counts[LevelIndex(s->ColumnText(0))] += s->ColumnInt(1);
  }
  for (size_t i = 0; i < counts.size(); ++i) stats.incidents_open_by_level[i].store(counts[i]);
}

std::string_view AlertKindText(engine::AlertKind kind) {
  switch (kind) {
    case engine::AlertKind::kDetection:
      return "detection";
    case engine::AlertKind::kCorrelation:
      return "correlation";
    case engine::AlertKind::kSuppressed:
      return "suppressed";
  }
  return "detection";
}

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) std::abort();
  return ToHex(raw);
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

template <typename T>
std::unexpected<StoreError> Fail(const std::expected<T, StoreError>& e) {
  return std::unexpected(e.error());
}

std::string TagsJson(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out += ',';
    out += JsonQuote(tags[i]);
  }
  out += ']';
  return out;
}

std::string MatchedFieldsJson(const std::vector<engine::MatchedField>& fields) {
  std::string out = "[";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out +=
        "{\"name\":" + JsonQuote(fields[i].name) + ",\"value\":" + JsonQuote(fields[i].value) + "}";
  }
  out += ']';
  return out;
}

std::string EventsJson(const std::vector<engine::AlertEvent>& events, StoreStats& stats) {
  std::string out = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (i) out += ',';
    out += "{\"agent_id\":" + JsonQuote(e.origin.agent_id) +
           ",\"agency\":" + JsonQuote(e.origin.agency) +
           ",\"batch_sequence\":" + std::to_string(e.origin.sequence) +
           ",\"received_ns\":" + std::to_string(e.origin.received_ns) +
           ",\"event_time_ns\":" + std::to_string(e.event_time_ns) +
           ",\"log\":" + JsonQuote(e.log) + ",\"event\":";
    // The event is embedded as an object so JSON consumers can query it; if
    // the engine ever hands us something that is not JSON we keep it as a
    // string (nothing lost) and count the anomaly.
    if (nlohmann::json::accept(e.json)) {
      out += e.json;
    } else {
      out += JsonQuote(e.json);
      stats.event_json_invalid.fetch_add(1, std::memory_order_relaxed);
    }
    out += '}';
  }
  out += ']';
  return out;
}

void CountCommitError(StoreStats& stats, const StoreError& error) {
  switch (error.code) {
    case ErrorCode::kBusy:
      stats.commit_errors_busy.fetch_add(1);
      break;
    case ErrorCode::kIo:
      stats.commit_errors_io.fetch_add(1);
      break;
    default:
      stats.commit_errors_other.fetch_add(1);
      break;
  }
}

std::string InsertSql(const RecordKindSpec& spec) {
  std::string sql = "INSERT INTO " + std::string(spec.table) + "(seq";
  for (const auto& c : spec.columns) sql += ", " + std::string(c.name);
  sql += ") VALUES(?";
  for (size_t i = 0; i < spec.columns.size(); ++i) sql += ", ?";
  sql += ")";
  return sql;
}

}  // namespace

int64_t SystemClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view CoverageKindName(CoverageKind kind) {
  switch (kind) {
    case CoverageKind::kConnected:
      return "connected";
    case CoverageKind::kDisconnected:
      return "disconnected";
    case CoverageKind::kSilent:
      return "silent";
    case CoverageKind::kGoodbye:
      return "goodbye";
    case CoverageKind::kLossReport:
      return "loss_report";
    case CoverageKind::kCaptureHealth:
      return "capture_health";
    case CoverageKind::kSequenceGap:
      return "sequence_gap";
    case CoverageKind::kCollectorStarted:
      return "collector_started";
    case CoverageKind::kCollectorStopped:
      return "collector_stopped";
  }
  return "unknown";
}

std::string_view IncidentStatusName(IncidentStatus status) {
  switch (status) {
    case IncidentStatus::kOpen:
      return "open";
    case IncidentStatus::kAcknowledged:
      return "acknowledged";
    case IncidentStatus::kClosed:
      return "closed";
  }
  return "open";
}

std::optional<IncidentStatus> ParseIncidentStatus(std::string_view name) {
  if (name == "open") return IncidentStatus::kOpen;
  if (name == "acknowledged") return IncidentStatus::kAcknowledged;
  if (name == "closed") return IncidentStatus::kClosed;
  return std::nullopt;
}

std::string_view IncidentActionName(IncidentAction action) {
  switch (action) {
    case IncidentAction::kAcknowledge:
      return "ack";
    case IncidentAction::kClose:
      return "close";
    case IncidentAction::kReopen:
      return "reopen";
  }
  return "ack";
}

// ---- Impl -------------------------------------------------------------------

std::expected<void, StoreError> IncidentStore::Impl::Begin() {
  // IMMEDIATE takes the write lock now, so the head we read below cannot
  // change under us (another process may have appended since our last txn).
  if (auto r = db.Exec("BEGIN IMMEDIATE"); !r) return r;
  in_txn = true;
  auto h = ReadHead();
  if (!h) {
    Rollback();
    return std::unexpected(h.error());
  }
  head = *h;
  return {};
}

std::expected<void, StoreError> IncidentStore::Impl::Commit() {
  auto r = db.Exec("COMMIT");
  if (!r) {
    Rollback();
    return r;
  }
  in_txn = false;
  return {};
}

void IncidentStore::Impl::Rollback() {
  if (in_txn) (void)db.Exec("ROLLBACK");
  in_txn = false;
}

std::expected<ChainHead, StoreError> IncidentStore::Impl::ReadHead() {
  if (!read_head) {
    auto s = db.Prepare("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
    if (!s) return Fail(s);
    read_head = std::move(*s);
  }
  ChainHead h;
  auto row = read_head.Step();
  if (!row) return Fail(row);
  if (*row) {
    h.seq = static_cast<uint64_t>(read_head.ColumnInt(0));
    if (!HashFromBytes(read_head.ColumnBlob(1), h.hash)) {
      read_head.Reset();
      return std::unexpected(StoreError{
          ErrorCode::kSchemaInvalid, "chain head record " + std::to_string(h.seq) +
                                         " has a malformed hash; run vigilctl incidents verify"});
    }
  } else {
    // After a prune that removed every record the chain continues from the
    // anchor, which meta keeps.
    auto a = db.Prepare("SELECT value FROM meta WHERE key = 'anchor_seq'");
    auto b = db.Prepare("SELECT value FROM meta WHERE key = 'anchor_hash'");
    if (a && b && *a->Step() && *b->Step()) {
      h.seq = std::stoull(a->ColumnText(0));
      (void)HashFromHex(b->ColumnText(0), h.hash);
    }
  }
  read_head.Reset();
  return h;
}

std::expected<uint64_t, StoreError> IncidentStore::Impl::Append(std::string_view kind,
                                                                std::span<const FieldValue> fields,
                                                                int64_t recorded_ns) {
  const RecordKindSpec* spec = FindRecordKind(kind);
  if (spec == nullptr || spec->columns.size() != fields.size()) {
    std::fprintf(stderr, "vigil: record kind %.*s appended with %zu fields\n",
                 static_cast<int>(kind.size()), kind.data(), fields.size());
    std::abort();  // programming error: the schema table and the writer disagree
  }
  const uint64_t seq = head.seq + 1;
  const std::string encoded = EncodeRecord(seq, kind, recorded_ns, fields);
  const Hash hash = ChainHash(head.hash, encoded);

  if (!insert_record) {
    auto s = db.Prepare("INSERT INTO records(seq, kind, recorded_ns, hash) VALUES(?, ?, ?, ?)");
    if (!s) return Fail(s);
    insert_record = std::move(*s);
  }
  insert_record.Bind(1, static_cast<int64_t>(seq));
  insert_record.Bind(2, kind);
  insert_record.Bind(3, recorded_ns);
  insert_record.BindBlob(4,
                         std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
  if (auto r = insert_record.Run(); !r) return Fail(r);

  auto it = insert_content.find(kind);
  if (it == insert_content.end()) {
    auto s = db.Prepare(InsertSql(*spec));
    if (!s) return Fail(s);
    it = insert_content.emplace(std::string(kind), std::move(*s)).first;
  }
  Statement& insert = it->second;
  insert.Bind(1, static_cast<int64_t>(seq));
  for (size_t i = 0; i < fields.size(); ++i) {
    const int index = static_cast<int>(i) + 2;
    const auto& value = fields[i];
    switch (spec->columns[i].type) {
      case FieldType::kInt:
        insert.Bind(index, std::get<int64_t>(value));
        break;
      case FieldType::kReal:
        insert.Bind(index, std::get<double>(value));
        break;
      case FieldType::kText:
        insert.Bind(index, std::string_view(std::get<std::string>(value)));
        break;
      case FieldType::kBlob:
        insert.BindBlob(index, std::get<std::string>(value));
        break;
    }
  }
  if (auto r = insert.Run(); !r) return Fail(r);
  head = ChainHead{seq, hash};
  return seq;
}

std::expected<CheckpointInfo, StoreError> IncidentStore::Impl::AppendCheckpoint(
    std::string_view store_id, std::string_view reason, int64_t now_ns) {
  if (!key) {
    return std::unexpected(
        StoreError{ErrorCode::kKey,
                   "writing a checkpoint needs the collector's signing key (signing_key_path)"});
  }
  const ChainHead covered = head;
  const std::string message =
      CheckpointMessage(store_id, covered.seq, covered.hash, now_ns, reason, key->key_id());
  std::vector<FieldValue> fields = {static_cast<int64_t>(covered.seq), ToHex(covered.hash),
                                    std::string(reason), key->key_id(), key->Sign(message)};
  auto seq = Append(kKindCheckpoint, fields, now_ns);
  if (!seq) return Fail(seq);
  return CheckpointInfo{*seq, covered.seq, ToHex(covered.hash)};
}

// ---- IncidentStore ----------------------------------------------------------

IncidentStore::IncidentStore(const StoreConfig& config, OpenMode mode, Clock clock)
    : config_(config), mode_(mode), clock_(std::move(clock)), impl_(std::make_unique<Impl>()) {}

IncidentStore::~IncidentStore() { (void)Close(); }

std::expected<std::unique_ptr<IncidentStore>, StoreError> IncidentStore::Open(
    const StoreConfig& config, OpenMode mode, Clock clock) {
  if (config.db_path.empty()) {
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument, "incident log path is empty"});
  }
  std::unique_ptr<IncidentStore> store(new IncidentStore(config, mode, std::move(clock)));
  Impl& impl = *store->impl_;
  const std::string path = config.db_path.string();

  std::error_code ec;
  const bool exists = std::filesystem::exists(config.db_path, ec);
  if (mode == OpenMode::kOperator && !exists) {
    return std::unexpected(StoreError{ErrorCode::kIo, "no incident log at " + path});
  }
  if (mode == OpenMode::kCollector && config.signing_key_path.empty()) {
    return std::unexpected(
        StoreError{ErrorCode::kKey,
                   "signing_key_path is required: checkpoints must be signed (generate one with "
                   "`vigilctl incidents keygen --key PATH`)"});
  }
  impl.hostname = HostName();
  if (mode == OpenMode::kCollector) {
    const std::string lock_path = path + ".lock";
    impl.lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (impl.lock_fd < 0 || ::flock(impl.lock_fd, LOCK_EX | LOCK_NB) != 0) {
      return std::unexpected(StoreError{ErrorCode::kBusy, "another collector is using " + path +
                                                              " (cannot lock " + lock_path + ")"});
    }
  }
  if (!config.signing_key_path.empty()) {
    auto key = SigningKey::Load(config.signing_key_path);
    if (!key) return std::unexpected(key.error());
    impl.key = std::move(*key);
  }

  auto db = Connection::Open(
      path, exists ? Connection::Mode::kReadWrite : Connection::Mode::kReadWriteCreate,
      static_cast<int>(config.busy_timeout.count()));
  if (!db) return std::unexpected(db.error());
  impl.db = std::move(*db);

  auto version = impl.db.QueryInt("PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  if (*version > kSchemaVersion) {
    return std::unexpected(StoreError{
        ErrorCode::kSchemaTooNew, path + " has schema version " + std::to_string(*version) +
                                      ", newer than this build supports (" +
                                      std::to_string(kSchemaVersion) +
                                      "); upgrade Vigil before opening it (nothing was changed)"});
  }
  if (*version == 0) {
    auto tables = impl.db.QueryInt("SELECT count(*) FROM sqlite_master");
    if (!tables) return std::unexpected(tables.error());
    if (*tables != 0) {
      return std::unexpected(StoreError{
          ErrorCode::kSchemaInvalid, path + " is an SQLite database but not a Vigil incident log"});
    }
  }

  // WAL: readers (vigilctl, exports) never block the pipeline's writer.
  auto mode_row = impl.db.Prepare("PRAGMA journal_mode=WAL");
  if (!mode_row) return std::unexpected(mode_row.error());
  if (auto r = mode_row->Step(); !r) return std::unexpected(r.error());
  if (mode_row->ColumnText(0) != "wal") {
    return std::unexpected(StoreError{
        ErrorCode::kIo, path + ": cannot enable WAL mode (" + mode_row->ColumnText(0) + ")"});
  }
  mode_row->Reset();
  const char* sync = config.durability == Durability::kFull ? "PRAGMA synchronous=FULL"
                                                            : "PRAGMA synchronous=NORMAL";
  if (auto r = impl.db.Exec(sync); !r) return std::unexpected(r.error());

  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    if (auto r = impl.db.Exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
    impl.in_txn = true;
    auto step = impl.db.Exec(kMigrations[v]);
    if (step) step = impl.db.Exec("PRAGMA user_version=" + std::to_string(v + 1));
    if (step && v == 0) {
      // A new log: its identity, then the genesis record that starts the chain.
      const std::string store_id = RandomHex(16);
      step = impl.db.Exec("INSERT INTO meta(key, value) VALUES('store_id', '" + store_id + "')");
      if (step) {
        impl.head = ChainHead{};
        const std::string created_by =
            config.collector_id.empty() ? HostName() : config.collector_id;
        std::vector<FieldValue> fields = {store_id, int64_t{kSchemaVersion}, created_by};
        auto seq = impl.Append(kKindGenesis, fields, store->clock_());
        if (!seq) step = std::unexpected(seq.error());
      }
    }
    if (!step) {
      impl.Rollback();
      return std::unexpected(StoreError{step.error().code, "migrating " + path + " to schema " +
                                                               std::to_string(v + 1) + ": " +
                                                               step.error().message});
    }
    if (auto r = impl.Commit(); !r) return std::unexpected(r.error());
  }

  {
    auto s = impl.db.Prepare("SELECT value FROM meta WHERE key = 'store_id'");
    if (!s) return std::unexpected(s.error());
    auto row = s->Step();
    if (!row || !*row) {
      return std::unexpected(StoreError{ErrorCode::kSchemaInvalid, path + ": store_id missing"});
    }
    store->store_id_ = s->ColumnText(0);
  }
  {
    auto s = impl.db.Prepare(
        "SELECT r.seq, r.recorded_ns FROM records r WHERE r.kind = 'checkpoint' "
        "ORDER BY r.seq DESC LIMIT 1");
    if (!s) return std::unexpected(s.error());
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (*row) {
      impl.last_checkpoint_seq = static_cast<uint64_t>(s->ColumnInt(0));
      impl.last_checkpoint_ns = s->ColumnInt(1);
    } else {
      impl.last_checkpoint_ns = store->clock_();
    }
  }

  if (mode == OpenMode::kCollector) {
    // A "running" marker left by a previous process means it did not reach
    // Close(): the collector was down (crash, kill -9, power loss) from its
    // last record until now, which coverage reports must show.
    auto running = impl.db.QueryInt("SELECT count(*) FROM meta WHERE key = 'running'");
    if (!running) return std::unexpected(running.error());
    if (auto r = impl.Begin(); !r) return std::unexpected(r.error());
    int64_t last_alive = 0;
    if (*running != 0) {
      auto last = impl.db.QueryInt("SELECT max(recorded_ns) FROM records");
      if (last) last_alive = *last;
    }
    const int64_t now = store->clock_();
    std::vector<FieldValue> fields = {
        std::string(),
        std::string(),
        std::string(CoverageKindName(CoverageKind::kCollectorStarted)),
        now,
        last_alive,
        now,
        int64_t{0},
        int64_t{0},
        int64_t{0},
        int64_t{0},
        0.0,
        std::string(*running != 0 ? "previous run ended without shutdown" : "clean start")};
    auto seq = impl.Append(kKindCoverage, fields, now);
    std::expected<void, StoreError> step;
    if (!seq) step = std::unexpected(seq.error());
    if (step) step = impl.db.Exec("INSERT OR REPLACE INTO meta(key, value) VALUES('running', '1')");
    if (!step) {
      impl.Rollback();
      return std::unexpected(step.error());
    }
    if (auto r = impl.Commit(); !r) return std::unexpected(r.error());
    store->stats_.records_appended.fetch_add(1);
    store->stats_.chain_head_seq.store(impl.head.seq);
  } else {
    auto h = impl.ReadHead();
    if (!h) return std::unexpected(h.error());
    store->stats_.chain_head_seq.store(h->seq);
  }

  if (config.forwarding.enabled) {
    auto forwarder = SyslogForwarder::Start(config.forwarding);
    if (!forwarder) return std::unexpected(forwarder.error());
    impl.forwarder = std::move(*forwarder);
  }
  RefreshOpenIncidents(impl.db, store->stats_);
  store->opened_ = true;
  return store;
}

std::expected<CommitResult, StoreError> IncidentStore::CommitBatches(
    std::span<const BatchCommit> batches) {
  const auto started = std::chrono::steady_clock::now();
  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  if (impl.closed)
    return std::unexpected(StoreError{ErrorCode::kInvalidArgument, "store is closed"});

  CommitResult result;
  std::array<uint64_t, StoreStats::kLevels> by_level{};
  uint64_t shadow = 0, suppressed = 0, new_incidents = 0, records = 0;
  std::array<int64_t, StoreStats::kLevels> new_by_level{};
  std::vector<std::string> to_forward;
  const SyslogIdentity identity{
      config_.forwarding.hostname.empty() ? impl.hostname : config_.forwarding.hostname,
      config_.forwarding.facility, "0.1.0"};
  static const DisplayZone kUtc = *DisplayZone::Load("UTC");

  auto body = [&]() -> std::expected<void, StoreError> {
    struct AgentState {
      std::string agency;
      uint64_t hwm = 0;
      uint64_t batches = 0, events = 0;
      int64_t first_ns = 0, last_ns = 0;
      bool touched = false;
    };
    std::map<std::string, AgentState, std::less<>> agents;
    std::map<std::pair<std::string, int64_t>, std::pair<uint64_t, uint64_t>> ledger;

    if (!impl.get_agent) {
      auto s = impl.db.Prepare("SELECT high_water FROM agents WHERE agent_id = ?");
      if (!s) return Fail(s);
      impl.get_agent = std::move(*s);
    }
    for (const BatchCommit& batch : batches) {
      auto it = agents.find(batch.agent_id);
      if (it == agents.end()) {
        AgentState state;
        impl.get_agent.Bind(1, batch.agent_id);
        auto row = impl.get_agent.Step();
        if (!row) return Fail(row);
        if (*row) state.hwm = static_cast<uint64_t>(impl.get_agent.ColumnInt(0));
        impl.get_agent.Reset();
        it = agents.emplace(std::string(batch.agent_id), std::move(state)).first;
      }
      AgentState& agent = it->second;
      // alerts_only: no batch, provenance only; the watermark stays.
      if (!batch.alerts_only) {
        if (batch.sequence <= agent.hwm) {
          ++result.duplicate_batches;  // a resend the pipeline did not filter: store nothing twice
          continue;
        }
        if (batch.sequence > agent.hwm + 1) {
          const uint64_t first = agent.hwm + 1, last = batch.sequence - 1;
          std::vector<FieldValue> fields = {
              std::string(batch.agent_id),
              std::string(batch.agency),
              std::string(CoverageKindName(CoverageKind::kSequenceGap)),
              batch.received_ns,
              int64_t{0},
              int64_t{0},
              static_cast<int64_t>(first),
              static_cast<int64_t>(last),
              static_cast<int64_t>(last - first + 1),
              int64_t{0},
              0.0,
              std::string("batches never received by the collector")};
          auto seq = impl.Append(kKindCoverage, fields, clock_());
          if (!seq) return Fail(seq);
          ++records;
          ++result.sequence_gaps;
        }
        agent.hwm = batch.sequence;
        agent.agency = std::string(batch.agency);
        agent.batches += 1;
        agent.events += batch.events;
        if (!agent.touched) agent.first_ns = batch.received_ns;
        agent.last_ns = batch.received_ns;
        agent.touched = true;
        auto& bucket = ledger[{std::string(batch.agent_id),
                               batch.received_ns - batch.received_ns % kLedgerBucketNs}];
        bucket.first += 1;
        bucket.second += batch.events;
      }

      for (const engine::Alert& alert : batch.alerts) {
        const std::string_view level = LevelText(alert.level);
        const bool is_suppressed = alert.kind == engine::AlertKind::kSuppressed;
        if (!impl.find_incident) {
          auto s = impl.db.Prepare(
              "SELECT id, first_seen_ns, last_seen_ns, status FROM incidents "
              "WHERE rule_id = ? AND agency = ? AND group_key = ? AND shadow = ? "
              "AND status != 'closed' ORDER BY last_seen_ns DESC LIMIT 1");
          if (!s) return Fail(s);
          impl.find_incident = std::move(*s);
        }
        impl.find_incident.Bind(1, alert.rule_id);
        impl.find_incident.Bind(2, batch.agency);
        impl.find_incident.Bind(3, alert.group_key);
        impl.find_incident.Bind(4, int64_t{alert.shadow ? 1 : 0});
        auto row = impl.find_incident.Step();
        if (!row) return Fail(row);
        int64_t incident_id = 0;
        std::string status = "open";
        const int64_t window_ns = config_.incident_window.count() * kNsPerSecond;
        if (*row) {
          const int64_t first_seen = impl.find_incident.ColumnInt(1);
          const int64_t last_seen = impl.find_incident.ColumnInt(2);
          if (alert.event_time_ns <= last_seen + window_ns &&
              alert.event_time_ns >= first_seen - window_ns) {
            incident_id = impl.find_incident.ColumnInt(0);
            status = impl.find_incident.ColumnText(3);
          }
        }
        impl.find_incident.Reset();
        const int64_t now = clock_();
        if (incident_id == 0) {
          if (!impl.insert_incident) {
            auto s = impl.db.Prepare(
                "INSERT INTO incidents(rule_id, rule_title, level, agency, group_key, shadow, "
                "status, first_seen_ns, last_seen_ns, alert_count, suppressed_count, "
                "first_alert_seq, last_alert_seq, status_changed_ns, status_by, status_note) "
                "VALUES(?, ?, ?, ?, ?, ?, 'open', ?, ?, 0, 0, ?, ?, ?, 'vigil-collector', '')");
            if (!s) return Fail(s);
            impl.insert_incident = std::move(*s);
          }
          auto& s = impl.insert_incident;
          s.Bind(1, alert.rule_id);
          s.Bind(2, alert.rule_title);
          s.Bind(3, level);
          s.Bind(4, batch.agency);
          s.Bind(5, alert.group_key);
          s.Bind(6, int64_t{alert.shadow ? 1 : 0});
          s.Bind(7, alert.event_time_ns);
          s.Bind(8, alert.event_time_ns);
          s.Bind(9, static_cast<int64_t>(impl.head.seq + 1));
          s.Bind(10, static_cast<int64_t>(impl.head.seq + 1));
          s.Bind(11, now);
          if (auto r = s.Run(); !r) return Fail(r);
          incident_id = sqlite3_last_insert_rowid(impl.db.raw());
          if (!alert.shadow) {
            ++new_incidents;
            ++new_by_level[LevelIndex(level)];
          }
        }

        const double drop_ratio =
            alert.events.empty() ? 0.0 : alert.events.back().origin.capture_drop_ratio;
        std::vector<FieldValue> fields = {incident_id,
                                          std::string(AlertKindText(alert.kind)),
                                          alert.rule_id,
                                          alert.rule_title,
                                          std::string(level),
                                          alert.author,
                                          TagsJson(alert.tags),
                                          alert.rule_file,
                                          alert.rule_file_hash,
                                          alert.ruleset_hash,
                                          int64_t{alert.shadow ? 1 : 0},
                                          alert.group_key,
                                          std::string(batch.agent_id),
                                          std::string(batch.agency),
                                          static_cast<int64_t>(batch.sequence),
                                          drop_ratio,
                                          alert.event_time_ns,
                                          batch.received_ns,
                                          MatchedFieldsJson(alert.matched_fields),
                                          EventsJson(alert.events, stats_),
                                          static_cast<int64_t>(alert.suppressed_count),
                                          alert.message};
        auto seq = impl.Append(kKindAlert, fields, now);
        if (!seq) return Fail(seq);
        ++records;

        if (!impl.update_incident_alert) {
          auto s = impl.db.Prepare(
              "UPDATE incidents SET alert_count = alert_count + ?, "
              "suppressed_count = suppressed_count + ?, first_seen_ns = min(first_seen_ns, ?), "
              "last_seen_ns = max(last_seen_ns, ?), last_alert_seq = ?, rule_title = ? "
              "WHERE id = ?");
          if (!s) return Fail(s);
          impl.update_incident_alert = std::move(*s);
        }
        auto& u = impl.update_incident_alert;
        u.Bind(1, int64_t{is_suppressed ? 0 : 1});
        u.Bind(2, static_cast<int64_t>(is_suppressed ? alert.suppressed_count : 0));
        u.Bind(3, alert.event_time_ns);
        u.Bind(4, alert.event_time_ns);
        u.Bind(5, static_cast<int64_t>(*seq));
        u.Bind(6, alert.rule_title);
        u.Bind(7, incident_id);
        if (auto r = u.Run(); !r) return Fail(r);

        ++result.alerts_stored;
        if (alert.shadow) {
          ++shadow;
        } else if (is_suppressed) {
          ++suppressed;
        } else {
          ++by_level[static_cast<size_t>(alert.level) % StoreStats::kLevels];
        }
        if (impl.forwarder && (!alert.shadow || config_.forwarding.forward_shadow)) {
          ExportRow out;
          out.seq = *seq;
          out.record_hash = ToHex(impl.head.hash);
          out.recorded_ns = now;
          out.incident_id = incident_id;
          out.incident_status = status;
          out.alert_kind = std::string(AlertKindText(alert.kind));
          out.rule_id = alert.rule_id;
          out.rule_title = alert.rule_title;
          out.level = std::string(level);
          out.author = alert.author;
          out.tags_json = std::get<std::string>(fields[6]);
          out.rule_file = alert.rule_file;
          out.rule_file_hash = alert.rule_file_hash;
          out.ruleset_hash = alert.ruleset_hash;
          out.shadow = alert.shadow;
          out.group_key = alert.group_key;
          out.agent_id = std::string(batch.agent_id);
          out.agency = std::string(batch.agency);
          out.batch_sequence = batch.sequence;
          out.capture_drop_ratio = drop_ratio;
          out.event_time_ns = alert.event_time_ns;
          out.received_ns = batch.received_ns;
          out.matched_fields_json = std::get<std::string>(fields[18]);
          out.suppressed_count = alert.suppressed_count;
          out.message = alert.message;
          to_forward.push_back(FormatSyslogMessage(out, kUtc, identity));
        }
      }
      if (!batch.alerts_only) ++result.batches_committed;
    }

    if (!impl.upsert_agent) {
      auto s = impl.db.Prepare(
          "INSERT INTO agents(agent_id, agency, high_water, batches, events, first_commit_ns, "
          "last_commit_ns) VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(agent_id) DO UPDATE SET "
          "agency = excluded.agency, high_water = max(high_water, excluded.high_water), "
          "batches = batches + excluded.batches, events = events + excluded.events, "
          "last_commit_ns = excluded.last_commit_ns");
      if (!s) return Fail(s);
      impl.upsert_agent = std::move(*s);
    }
    for (const auto& [agent_id, state] : agents) {
      if (!state.touched) continue;
      auto& s = impl.upsert_agent;
      s.Bind(1, agent_id);
      s.Bind(2, state.agency);
      s.Bind(3, static_cast<int64_t>(state.hwm));
      s.Bind(4, static_cast<int64_t>(state.batches));
      s.Bind(5, static_cast<int64_t>(state.events));
      s.Bind(6, state.first_ns);
      s.Bind(7, state.last_ns);
      if (auto r = s.Run(); !r) return Fail(r);
    }
    if (!impl.upsert_ledger) {
      auto s = impl.db.Prepare(
          "INSERT INTO ledger(agent_id, hour_ns, batches, events) VALUES(?, ?, ?, ?) "
          "ON CONFLICT(agent_id, hour_ns) DO UPDATE SET batches = batches + excluded.batches, "
          "events = events + excluded.events");
      if (!s) return Fail(s);
      impl.upsert_ledger = std::move(*s);
    }
    for (const auto& [key, counts] : ledger) {
      auto& s = impl.upsert_ledger;
      s.Bind(1, key.first);
      s.Bind(2, key.second);
      s.Bind(3, static_cast<int64_t>(counts.first));
      s.Bind(4, static_cast<int64_t>(counts.second));
      if (auto r = s.Run(); !r) return Fail(r);
    }

    // Checkpoint inside the same transaction when the policy says so: the
    // signature then covers exactly what this commit made durable.
    const int64_t now = clock_();
    const uint64_t unsigned_records = impl.head.seq - impl.last_checkpoint_seq;
    if (impl.key && unsigned_records > 0 &&
        (unsigned_records >= config_.checkpoint_every_records ||
         now - impl.last_checkpoint_ns >= config_.checkpoint_every.count() * kNsPerSecond)) {
      auto cp = impl.AppendCheckpoint(store_id_, "periodic", now);
      if (!cp) return Fail(cp);
      ++records;
      impl.last_checkpoint_seq = cp->seq;
      impl.last_checkpoint_ns = now;
      stats_.checkpoints_written.fetch_add(1);
    }
    return {};
  };

  const uint64_t saved_cp_seq = impl.last_checkpoint_seq;
  const int64_t saved_cp_ns = impl.last_checkpoint_ns;
  std::expected<void, StoreError> outcome = impl.Begin();
  if (outcome) outcome = body();
  if (outcome) outcome = impl.Commit();
  if (!outcome) {
    impl.Rollback();
    impl.last_checkpoint_seq = saved_cp_seq;
    impl.last_checkpoint_ns = saved_cp_ns;
    CountCommitError(stats_, outcome.error());
    return std::unexpected(outcome.error());
  }

  for (size_t i = 0; i < StoreStats::kLevels; ++i) {
    if (by_level[i]) stats_.alerts_stored_by_level[i].fetch_add(by_level[i]);
  }
  stats_.shadow_alerts_stored.fetch_add(shadow);
  stats_.suppressed_summaries_stored.fetch_add(suppressed);
  stats_.batches_committed.fetch_add(result.batches_committed);
  stats_.duplicate_batches_skipped.fetch_add(result.duplicate_batches);
  stats_.sequence_gaps_recorded.fetch_add(result.sequence_gaps);
  stats_.transactions_committed.fetch_add(1);
  stats_.records_appended.fetch_add(records);
  stats_.incidents_open.fetch_add(static_cast<int64_t>(new_incidents));
  for (size_t i = 0; i < new_by_level.size(); ++i) {
    stats_.incidents_open_by_level[i].fetch_add(new_by_level[i]);
  }
  stats_.chain_head_seq.store(impl.head.seq);
  result.head_seq = impl.head.seq;
  for (auto& message : to_forward) impl.forwarder->Submit(std::move(message));

  const auto elapsed = std::chrono::steady_clock::now() - started;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  size_t bucket = 0;
  while (bucket < StoreStats::kLatencyBounds.size() &&
         seconds > StoreStats::kLatencyBounds[bucket]) {
    ++bucket;
  }
  stats_.commit_latency_buckets[bucket].fetch_add(1);
  stats_.commit_latency_sum_ns.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
  stats_.commit_latency_count.fetch_add(1);
  return result;
}

std::expected<void, StoreError> IncidentStore::RecordCoverage(const CoverageEvent& event) {
  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  const int64_t now = clock_();
  std::vector<FieldValue> fields = {event.agent_id,
                                    event.agency,
                                    std::string(CoverageKindName(event.kind)),
                                    event.occurred_ns != 0 ? event.occurred_ns : now,
                                    event.window_start_ns,
                                    event.window_end_ns,
                                    static_cast<int64_t>(event.first_sequence),
                                    static_cast<int64_t>(event.last_sequence),
                                    static_cast<int64_t>(event.batches),
                                    static_cast<int64_t>(event.records),
                                    event.drop_ratio,
                                    event.detail};
  const bool named_loss = event.kind == CoverageKind::kLossReport && !event.report_id.empty();
  bool duplicate = false;
  std::expected<void, StoreError> outcome = impl.Begin();
  if (outcome && named_loss) {
    // Inside the write transaction: two writers cannot both record it.
    auto s = impl.db.Prepare("SELECT 1 FROM loss_report_ids WHERE agent_id = ? AND report_id = ?");
    if (!s) {
      outcome = std::unexpected(s.error());
    } else {
      s->Bind(1, std::string_view(event.agent_id));
      s->Bind(2, std::string_view(event.report_id));
      auto row = s->Step();
      if (!row) {
        outcome = std::unexpected(row.error());
      } else {
        duplicate = *row;
      }
    }
  }
  if (outcome && !duplicate) {
    auto seq = impl.Append(kKindCoverage, fields, now);
    if (!seq) outcome = std::unexpected(seq.error());
    if (outcome && named_loss) {
      auto s =
          impl.db.Prepare("INSERT INTO loss_report_ids(agent_id, report_id, seq) VALUES(?, ?, ?)");
      if (!s) {
        outcome = std::unexpected(s.error());
      } else {
        s->Bind(1, std::string_view(event.agent_id));
        s->Bind(2, std::string_view(event.report_id));
        s->Bind(3, static_cast<int64_t>(*seq));
        outcome = s->Run();
      }
    }
  }
  if (outcome) outcome = impl.Commit();
  if (!outcome) {
    impl.Rollback();
    CountCommitError(stats_, outcome.error());
    return outcome;
  }
  if (duplicate) {
    stats_.duplicate_loss_reports_skipped.fetch_add(1);
    return {};
  }
  stats_.records_appended.fetch_add(1);
  stats_.chain_head_seq.store(impl.head.seq);
  return {};
}

std::expected<std::vector<AgentWatermark>, StoreError> IncidentStore::HighWaterMarks() {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->db.Prepare(
      "SELECT agent_id, agency, high_water, batches, events, last_commit_ns FROM agents "
      "ORDER BY agent_id");
  if (!s) return Fail(s);
  std::vector<AgentWatermark> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return Fail(row);
    if (!*row) break;
    out.push_back(AgentWatermark{s->ColumnText(0), s->ColumnText(1),
                                 static_cast<uint64_t>(s->ColumnInt(2)),
                                 static_cast<uint64_t>(s->ColumnInt(3)),
                                 static_cast<uint64_t>(s->ColumnInt(4)), s->ColumnInt(5)});
  }
  return out;
}

std::expected<uint64_t, StoreError> IncidentStore::HighWaterMark(std::string_view agent_id) {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->db.Prepare("SELECT high_water FROM agents WHERE agent_id = ?");
  if (!s) return Fail(s);
  s->Bind(1, agent_id);
  auto row = s->Step();
  if (!row) return Fail(row);
  return *row ? static_cast<uint64_t>(s->ColumnInt(0)) : uint64_t{0};
}

std::expected<CheckpointInfo, StoreError> IncidentStore::Checkpoint(std::string_view reason) {
  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  const int64_t now = clock_();
  std::expected<CheckpointInfo, StoreError> cp;
  if (auto r = impl.Begin(); !r) return std::unexpected(r.error());
  cp = impl.AppendCheckpoint(store_id_, reason, now);
  if (cp) {
    if (auto r = impl.Commit(); !r) cp = std::unexpected(r.error());
  }
  if (!cp) {
    impl.Rollback();
    return cp;
  }
  impl.last_checkpoint_seq = cp->seq;
  impl.last_checkpoint_ns = now;
  stats_.checkpoints_written.fetch_add(1);
  stats_.records_appended.fetch_add(1);
  stats_.chain_head_seq.store(impl.head.seq);
  RefreshOpenIncidents(impl.db, stats_);
  return cp;
}

std::expected<std::optional<CheckpointInfo>, StoreError> IncidentStore::MaybeCheckpoint() {
  {
    std::lock_guard lock(impl_->mu);
    Impl& impl = *impl_;
    if (!impl.key) return std::optional<CheckpointInfo>{};
    auto head = impl.ReadHead();
    if (!head) return Fail(head);
    const int64_t now = clock_();
    const bool due =
        head->seq > impl.last_checkpoint_seq &&
        (head->seq - impl.last_checkpoint_seq >= config_.checkpoint_every_records ||
         now - impl.last_checkpoint_ns >= config_.checkpoint_every.count() * kNsPerSecond);
    if (!due) return std::optional<CheckpointInfo>{};
  }
  auto cp = Checkpoint("periodic");
  if (!cp) return Fail(cp);
  return std::optional<CheckpointInfo>(*cp);
}

std::expected<PruneResult, StoreError> IncidentStore::PruneExpired() {
  if (config_.retention.count() <= 0) return PruneResult{};
  return Prune(config_.retention,
               config_.collector_id.empty() ? "vigil-collector" : config_.collector_id);
}

std::expected<PruneResult, StoreError> IncidentStore::Prune(std::chrono::seconds older_than,
                                                            std::string_view by) {
  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  if (!impl.key) {
    return std::unexpected(StoreError{
        ErrorCode::kKey,
        "pruning writes a signed checkpoint first: the collector's signing key is required"});
  }
  const int64_t now = clock_();
  const int64_t cutoff = now - older_than.count() * kNsPerSecond;
  PruneResult result;

  auto body = [&]() -> std::expected<void, StoreError> {
    // Prune a prefix of the chain only: everything up to the last record
    // older than the cutoff that has no newer record before it. A hole in
    // the middle could not be told apart from tampering.
    auto first_kept = impl.db.Prepare("SELECT min(seq) FROM records WHERE recorded_ns >= ?");
    if (!first_kept) return Fail(first_kept);
    first_kept->Bind(1, cutoff);
    auto row = first_kept->Step();
    if (!row) return Fail(row);
    uint64_t through = first_kept->ColumnIsNull(0)
                           ? impl.head.seq
                           : static_cast<uint64_t>(first_kept->ColumnInt(0)) - 1;
    first_kept->Reset();
    auto first_present = impl.db.QueryInt("SELECT coalesce(min(seq), 0) FROM records");
    if (!first_present) return Fail(first_present);
    if (through == 0 || static_cast<int64_t>(through) < *first_present) return {};

    auto hash_of = impl.db.Prepare("SELECT hash FROM records WHERE seq = ?");
    if (!hash_of) return Fail(hash_of);
    hash_of->Bind(1, static_cast<int64_t>(through));
    auto hrow = hash_of->Step();
    if (!hrow) return Fail(hrow);
    Hash through_hash{};
    if (!*hrow || !HashFromBytes(hash_of->ColumnBlob(0), through_hash)) {
      return std::unexpected(StoreError{ErrorCode::kSchemaInvalid,
                                        "record " + std::to_string(through) +
                                            " is missing or damaged; run verify before pruning"});
    }
    hash_of->Reset();
    auto count = impl.db.Prepare("SELECT count(*) FROM records WHERE seq <= ?");
    auto alerts = impl.db.Prepare("SELECT count(*) FROM alerts WHERE seq <= ?");
    if (!count) return Fail(count);
    if (!alerts) return Fail(alerts);
    count->Bind(1, static_cast<int64_t>(through));
    alerts->Bind(1, static_cast<int64_t>(through));
    if (auto r = count->Step(); !r) return Fail(r);
    if (auto r = alerts->Step(); !r) return Fail(r);
    result.records_removed = static_cast<uint64_t>(count->ColumnInt(0));
    result.alerts_removed = static_cast<uint64_t>(alerts->ColumnInt(0));
    result.pruned_through_seq = through;

    std::vector<FieldValue> fields = {cutoff,
                                      static_cast<int64_t>(through),
                                      ToHex(through_hash),
                                      static_cast<int64_t>(result.records_removed),
                                      static_cast<int64_t>(result.alerts_removed),
                                      std::string(by)};
    auto seq = impl.Append(kKindPrune, fields, now);
    if (!seq) return Fail(seq);
    result.prune_record_seq = *seq;
    // The signed checkpoint after the prune record anchors what remains: its
    // signed head hash commits to every retained record, starting from the
    // pruned-through hash the prune record names.
    auto cp = impl.AppendCheckpoint(store_id_, "prune", now);
    if (!cp) return Fail(cp);
    impl.last_checkpoint_seq = cp->seq;
    impl.last_checkpoint_ns = now;

    const std::string bound = std::to_string(through);
    for (const auto& spec : AllRecordKinds()) {
      auto r = impl.db.Exec("DELETE FROM " + std::string(spec.table) + " WHERE seq <= " + bound);
      if (!r) return r;
    }
    if (auto r = impl.db.Exec("DELETE FROM records WHERE seq <= " + bound); !r) return r;
    if (auto r = impl.db.Exec("DELETE FROM loss_report_ids WHERE seq <= " + bound); !r) return r;
    // Closed incidents whose alerts are all gone go too; open ones stay in
    // the analysts' queue (their counts still include the pruned alerts).
    if (auto r = impl.db.Exec(
            "DELETE FROM incidents WHERE status = 'closed' AND last_alert_seq <= " + bound);
        !r) {
      return r;
    }
    if (auto r = impl.db.Exec("DELETE FROM ledger WHERE hour_ns < " +
                              std::to_string(cutoff - cutoff % kLedgerBucketNs));
        !r) {
      return r;
    }
    if (auto r = impl.db.Exec("INSERT OR REPLACE INTO meta(key, value) VALUES('anchor_seq', '" +
                              bound + "'), ('anchor_hash', '" + ToHex(through_hash) + "')");
        !r) {
      return r;
    }
    return {};
  };

  const uint64_t saved_cp_seq = impl.last_checkpoint_seq;
  const int64_t saved_cp_ns = impl.last_checkpoint_ns;
  std::expected<void, StoreError> outcome = impl.Begin();
  if (outcome) outcome = body();
  if (outcome) outcome = impl.Commit();
  if (!outcome) {
    impl.Rollback();
    impl.last_checkpoint_seq = saved_cp_seq;
    impl.last_checkpoint_ns = saved_cp_ns;
    return std::unexpected(outcome.error());
  }
  if (result.prune_record_seq != 0) {
    stats_.records_pruned.fetch_add(result.records_removed);
    stats_.checkpoints_written.fetch_add(1);
    stats_.records_appended.fetch_add(2);
  }
  stats_.chain_head_seq.store(impl.head.seq);
  return result;
}

std::expected<void, StoreError> IncidentStore::Close() {
  if (!impl_) return {};
  std::expected<void, StoreError> outcome;
  bool was_closed = false;
  {
    std::lock_guard lock(impl_->mu);
    was_closed = impl_->closed;
  }
  if (was_closed) return {};
  if (mode_ == OpenMode::kCollector && opened_) {
    CoverageEvent stop;
    stop.kind = CoverageKind::kCollectorStopped;
    stop.detail = "clean shutdown";
    outcome = RecordCoverage(stop);
    if (outcome) {
      auto cp = Checkpoint("shutdown");
      if (!cp) outcome = std::unexpected(cp.error());
    }
    if (outcome) {
      std::lock_guard lock(impl_->mu);
      outcome = impl_->db.Exec("DELETE FROM meta WHERE key = 'running'");
    }
  }
  std::lock_guard lock(impl_->mu);
  if (impl_->forwarder) impl_->forwarder->Stop(config_.forwarding.io_timeout);
  impl_->closed = true;
  if (impl_->lock_fd >= 0) {
    ::close(impl_->lock_fd);  // releases the flock
    impl_->lock_fd = -1;
  }
  return outcome;
}

const ForwarderStats* IncidentStore::forwarder_stats() const {
  return impl_->forwarder ? &impl_->forwarder->stats() : nullptr;
}

std::string IncidentStore::PublicKeyPem() const {
  return impl_->key ? impl_->key->PublicKeyPem() : std::string();
}

std::expected<ChainHead, StoreError> IncidentStore::Head() {
  std::lock_guard lock(impl_->mu);
  return impl_->ReadHead();
}

// ---- lifecycle --------------------------------------------------------------

std::expected<IncidentChangeRecord, StoreError> IncidentStore::ChangeIncident(
    int64_t id, IncidentAction action, std::string_view by, std::string_view note) {
  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  IncidentChangeRecord change;
  bool shadow = false;
  size_t level_index = 2;
  auto body = [&]() -> std::expected<void, StoreError> {
    auto s = impl.db.Prepare("SELECT status, shadow, level FROM incidents WHERE id = ?");
    if (!s) return Fail(s);
    s->Bind(1, id);
    auto row = s->Step();
    if (!row) return Fail(row);
    if (!*row) {
      return std::unexpected(StoreError{ErrorCode::kNotFound, "no incident " + std::to_string(id)});
    }
    const std::string from = s->ColumnText(0);
    shadow = s->ColumnInt(1) != 0;
    level_index = LevelIndex(s->ColumnText(2));
    std::string to;
    switch (action) {
      case IncidentAction::kAcknowledge:
        if (from == "open") to = "acknowledged";
        break;
      case IncidentAction::kClose:
        if (from == "open" || from == "acknowledged") to = "closed";
        break;
      case IncidentAction::kReopen:
        if (from == "closed") to = "open";
        break;
    }
    if (to.empty()) {
      return std::unexpected(
          StoreError{ErrorCode::kInvalidTransition,
                     "incident " + std::to_string(id) + " is " + from + "; cannot " +
                         std::string(IncidentActionName(action)) +
                         " it (open -> ack -> close; reopen only a closed incident)"});
    }
    const int64_t now = clock_();
    std::vector<FieldValue> fields = {
        id, std::string(IncidentActionName(action)), from, to, std::string(by), std::string(note)};
    auto seq = impl.Append(kKindIncidentChange, fields, now);
    if (!seq) return Fail(seq);
    auto u = impl.db.Prepare(
        "UPDATE incidents SET status = ?, status_changed_ns = ?, status_by = ?, status_note = ? "
        "WHERE id = ?");
    if (!u) return Fail(u);
    u->Bind(1, to);
    u->Bind(2, now);
    u->Bind(3, by);
    u->Bind(4, note);
    u->Bind(5, id);
    if (auto r = u->Run(); !r) return r;
    change = IncidentChangeRecord{*seq,
                                  now,
                                  std::string(IncidentActionName(action)),
                                  from,
                                  to,
                                  std::string(by),
                                  std::string(note)};
    return {};
  };
  std::expected<void, StoreError> outcome = impl.Begin();
  if (outcome) outcome = body();
  if (outcome) outcome = impl.Commit();
  if (!outcome) {
    impl.Rollback();
    return std::unexpected(outcome.error());
  }
  stats_.records_appended.fetch_add(1);
  stats_.chain_head_seq.store(impl.head.seq);
  if (!shadow && change.to_status == "closed") {
    stats_.incidents_open.fetch_sub(1);
    stats_.incidents_open_by_level[level_index].fetch_sub(1);
  }
  if (!shadow && change.from_status == "closed") {
    stats_.incidents_open.fetch_add(1);
    stats_.incidents_open_by_level[level_index].fetch_add(1);
  }
  return change;
}

namespace {

IncidentSummary ReadSummary(const Statement& s) {
  IncidentSummary out;
  out.id = s.ColumnInt(0);
  out.rule_id = s.ColumnText(1);
  out.rule_title = s.ColumnText(2);
  out.level = s.ColumnText(3);
  out.agency = s.ColumnText(4);
  out.group_key = s.ColumnText(5);
  out.shadow = s.ColumnInt(6) != 0;
  out.status = s.ColumnText(7);
  out.first_seen_ns = s.ColumnInt(8);
  out.last_seen_ns = s.ColumnInt(9);
  out.alert_count = static_cast<uint64_t>(s.ColumnInt(10));
  out.suppressed_count = static_cast<uint64_t>(s.ColumnInt(11));
  out.status_changed_ns = s.ColumnInt(12);
  out.status_by = s.ColumnText(13);
  out.status_note = s.ColumnText(14);
  return out;
}

constexpr std::string_view kSummaryColumns =
    "id, rule_id, rule_title, level, agency, group_key, shadow, status, first_seen_ns, "
    "last_seen_ns, alert_count, suppressed_count, status_changed_ns, status_by, status_note";

}  // namespace

std::vector<std::string> LevelsAtLeast(std::string_view level);

std::expected<std::vector<IncidentSummary>, StoreError> IncidentStore::ListIncidents(
    const IncidentFilter& filter) {
  std::lock_guard lock(impl_->mu);
  std::string sql = "SELECT " + std::string(kSummaryColumns) + " FROM incidents WHERE 1=1";
  std::vector<std::string> binds;
  if (filter.status) {
    if (!ParseIncidentStatus(*filter.status)) {
      return std::unexpected(
          StoreError{ErrorCode::kInvalidArgument,
                     "unknown status '" + *filter.status + "' (open, acknowledged, closed)"});
    }
    sql += " AND status = ?";
    binds.push_back(*filter.status);
  }
  if (filter.agency) {
    sql += " AND agency = ?";
    binds.push_back(*filter.agency);
  }
  if (filter.rule_id) {
    sql += " AND rule_id = ?";
    binds.push_back(*filter.rule_id);
  }
  if (filter.min_level) {
    const auto levels = LevelsAtLeast(*filter.min_level);
    if (levels.empty()) {
      return std::unexpected(StoreError{ErrorCode::kInvalidArgument,
                                        "unknown level '" + *filter.min_level +
                                            "' (informational, low, medium, high, critical)"});
    }
    sql += " AND level IN (";
    for (size_t i = 0; i < levels.size(); ++i) {
      sql += i ? ", ?" : "?";
      binds.push_back(levels[i]);
    }
    sql += ")";
  }
  if (!filter.include_shadow) sql += " AND shadow = 0";
  if (filter.since_ns) sql += " AND last_seen_ns >= " + std::to_string(*filter.since_ns);
  if (filter.until_ns) sql += " AND first_seen_ns < " + std::to_string(*filter.until_ns);
  sql += " ORDER BY last_seen_ns DESC, id DESC LIMIT " + std::to_string(filter.limit);
  auto s = impl_->db.Prepare(sql);
  if (!s) return Fail(s);
  for (size_t i = 0; i < binds.size(); ++i) s->Bind(static_cast<int>(i) + 1, binds[i]);
  std::vector<IncidentSummary> out;
  for (;;) {
    auto row = s->Step();
    if (!row) return Fail(row);
    if (!*row) break;
    out.push_back(ReadSummary(*s));
  }
  return out;
}

std::expected<IncidentDetail, StoreError> IncidentStore::GetIncident(int64_t id,
                                                                     size_t max_alerts) {
  std::lock_guard lock(impl_->mu);
  Impl& impl = *impl_;
  // One read transaction: summary, history and alerts from one snapshot.
  if (auto r = impl.db.Exec("BEGIN"); !r) return std::unexpected(r.error());
  auto body = [&]() -> std::expected<IncidentDetail, StoreError> {
    IncidentDetail detail;
    auto s =
        impl.db.Prepare("SELECT " + std::string(kSummaryColumns) + " FROM incidents WHERE id = ?");
    if (!s) return Fail(s);
    s->Bind(1, id);
    auto row = s->Step();
    if (!row) return Fail(row);
    if (!*row) {
      return std::unexpected(StoreError{ErrorCode::kNotFound, "no incident " + std::to_string(id)});
    }
    detail.summary = ReadSummary(*s);
    auto h = impl.db.Prepare(
        "SELECT c.seq, r.recorded_ns, c.action, c.from_status, c.to_status, c.changed_by, c.note "
        "FROM incident_changes c JOIN records r ON r.seq = c.seq WHERE c.incident_id = ? "
        "ORDER BY c.seq");
    if (!h) return Fail(h);
    h->Bind(1, id);
    for (;;) {
      auto hr = h->Step();
      if (!hr) return Fail(hr);
      if (!*hr) break;
      detail.history.push_back(IncidentChangeRecord{
          static_cast<uint64_t>(h->ColumnInt(0)), h->ColumnInt(1), h->ColumnText(2),
          h->ColumnText(3), h->ColumnText(4), h->ColumnText(5), h->ColumnText(6)});
    }
    auto a = impl.db.Prepare("SELECT " + std::string(ExportSelectColumns()) +
                             " WHERE a.incident_id = ? ORDER BY a.seq LIMIT ?");
    if (!a) return Fail(a);
    a->Bind(1, id);
    a->Bind(2, static_cast<int64_t>(max_alerts));
    for (;;) {
      auto ar = a->Step();
      if (!ar) return Fail(ar);
      if (!*ar) break;
      detail.alerts.push_back(ReadExportRow(*a));
    }
    return detail;
  };
  auto result = body();
  (void)impl.db.Exec("COMMIT");
  return result;
}

}  // namespace vigil::collector::incidents
