#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace nyxgate::storage {

/// SQLSTATE classes mapped to what callers can act on.
enum class db_errc : std::uint8_t {
  ok,
  unique_violation,       ///< 23505
  foreign_key_violation,  ///< 23503
  check_violation,        ///< 23514, 23502, 22xxx data exceptions
  serialization_failure,  ///< 40001, 40P01
  connection_lost,        ///< 08xxx, 57P0x, or the socket went away mid-query
  unavailable,            ///< not connected right now (reconnecting)
  timeout,                ///< the statement's deadline passed
  overloaded,             ///< the storage actor's queue is full
  other,
};

std::string_view to_string(db_errc e);
std::ostream& operator<<(std::ostream& os, db_errc e);
db_errc classify_sqlstate(std::string_view sqlstate);

/// One parameterised statement; parameters are sent as text, NULL where `null_params[i]`.
/// A `COPY ... FROM STDIN` statement carries its rows in `copy_data`, in the
/// format its SQL names (text by default).
struct statement {
  std::string sql;
  std::vector<std::string> params;
  std::vector<std::uint8_t> null_params;
  std::string copy_data;

  statement() = default;
  explicit statement(std::string q) : sql(std::move(q)) {}
  statement& bind(std::string v) {
    params.push_back(std::move(v));
    null_params.push_back(0);
    return *this;
  }
  statement& bind(std::string_view v) { return bind(std::string{v}); }
  statement& bind(const char* v) { return bind(std::string{v}); }
  statement& bind(std::int64_t v) { return bind(std::to_string(v)); }
  statement& bind(bool v) { return bind(std::string{v ? "true" : "false"}); }
  statement& bind(const std::optional<std::string>& v) {
    params.emplace_back(v.value_or(std::string{}));
    null_params.push_back(v ? 0 : 1);
    return *this;
  }
  statement& bind_null() { return bind(std::optional<std::string>{}); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, statement& x) {
  return f(caf::meta::type_name("nyxgate::storage::statement"), x.sql, x.params, x.null_params,
           x.copy_data);
}

/// Statements run in order on one connection; with `transaction` inside BEGIN/COMMIT
/// (rolled back on the first failure).
struct db_batch {
  std::vector<statement> statements;
  bool transaction = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, db_batch& x) {
  return f(caf::meta::type_name("nyxgate::storage::db_batch"), x.statements, x.transaction);
}

/// Rows of one statement, as text, row-major.
struct db_result {
  std::vector<std::string> columns;
  std::vector<std::string> cells;
  std::vector<std::uint8_t> nulls;
  std::int64_t affected = 0;

  std::size_t rows() const { return columns.empty() ? 0 : cells.size() / columns.size(); }
  bool empty() const { return rows() == 0; }
  const std::string& at(std::size_t row, std::size_t col) const {
    return cells[row * columns.size() + col];
  }
  bool is_null(std::size_t row, std::size_t col) const {
    return nulls[row * columns.size() + col] != 0;
  }
  std::optional<std::string> get(std::size_t row, std::size_t col) const {
    if (is_null(row, col)) return std::nullopt;
    return at(row, col);
  }
};

/// The number a `SELECT count(*)` returned.
inline std::int64_t count_of(const db_result& r) {
  return r.empty() ? 0 : std::strtoll(r.at(0, 0).c_str(), nullptr, 10);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, db_result& x) {
  return f(caf::meta::type_name("nyxgate::storage::db_result"), x.columns, x.cells, x.nulls,
           x.affected);
}

/// The outcome of a batch: one result per statement, or the error that stopped it.
struct db_reply {
  db_errc error = db_errc::ok;
  std::string sqlstate;
  std::string message;  ///< server message; may quote values, so never shown to clients
  std::vector<db_result> results;

  bool ok() const { return error == db_errc::ok; }
  static db_reply failure(db_errc e, std::string msg, std::string state = {}) {
    db_reply r;
    r.error = e;
    r.message = std::move(msg);
    r.sqlstate = std::move(state);
    return r;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, db_reply& x) {
  return f(caf::meta::type_name("nyxgate::storage::db_reply"), x.error, x.sqlstate, x.message,
           x.results);
}

/// Where a reply goes when the caller is not an actor: invoked once, on a storage thread.
/// Session code wraps it to post back onto its own strand.
using db_callback = std::function<void(db_reply)>;

}  // namespace nyxgate::storage
