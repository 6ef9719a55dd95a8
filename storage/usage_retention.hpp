#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace nyxgate::storage {

class database;

struct retention_settings {
  int retention_days = 90;         ///< usage rows older than this are deleted; 0 keeps every row
  std::int64_t batch_rows = 5000;  ///< rows per DELETE, so no statement holds locks for long
  std::chrono::milliseconds interval{std::chrono::hours(1)};  ///< between passes
  std::chrono::milliseconds pause{50};                        ///< between the batches of one pass
};

/// Bounds `usage_events` by age: a pass every `interval` (the first soon after start) deletes
/// the rows older than `retention_days` in batches of `batch_rows`, until a batch comes back
/// short. Runs on a strand of the I/O context through the storage actors; a database failure
/// ends the pass, and the next one tries again. Several nodes may run it: a row is deleted once.
class usage_retention {
 public:
  static std::shared_ptr<usage_retention> start(boost::asio::io_context& io, database& db,
                                                retention_settings settings);
  virtual ~usage_retention() = default;
  /// Ends the current pass after its batch and stops the timer.
  virtual void stop() = 0;
  /// Rows deleted so far (for tests and the log).
  virtual std::uint64_t deleted() const = 0;
};

}  // namespace nyxgate::storage
