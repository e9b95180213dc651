#pragma once
// Thin RAII wrappers over the SQLite C API, used only inside
// collector/incidents (SQLite stays in this module). A Connection is owned by
// one object and used from one thread at a time; Statement belongs to its
// Connection and must not outlive it.

#include <sqlite3.h>

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "collector/incidents/store_error.h"

namespace vigil::collector::incidents {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  explicit operator bool() const { return stmt_ != nullptr; }

  // Binding: index is 1-based as in SQLite. Text is copied (SQLITE_TRANSIENT)
  // because callers bind temporaries.
  void Bind(int index, int64_t value);
  void Bind(int index, double value);
  void Bind(int index, std::string_view text);
  void BindBlob(int index, std::string_view bytes);
  void BindNull(int index);

  /// Steps once. Returns true when a row is available, false when done.
  std::expected<bool, StoreError> Step();
  /// Steps to completion, expecting no rows (INSERT/UPDATE/DELETE).
  std::expected<void, StoreError> Run();
  void Reset();

  int64_t ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }
  double ColumnReal(int index) const { return sqlite3_column_double(stmt_, index); }
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  bool ColumnIsNull(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Connection {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite, kReadOnly };

  static std::expected<Connection, StoreError> Open(const std::string& path, Mode mode,
                                                    int busy_timeout_ms);
  Connection() = default;
  Connection(Connection&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  std::expected<void, StoreError> Exec(std::string_view sql);
  std::expected<Statement, StoreError> Prepare(std::string_view sql);
  /// Runs a query returning one integer (PRAGMA user_version, COUNT(*)).
  std::expected<int64_t, StoreError> QueryInt(std::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

/// Maps a SQLite result code and the connection's message to a StoreError.
StoreError SqliteError(sqlite3* db, int rc, std::string_view what);

}  // namespace vigil::collector::incidents
