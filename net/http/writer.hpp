#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/types.hpp"

/// What the HTTP session writes: an answer's head, and a streamed answer's queue between the
/// handler's writer (any thread) and the session (its shard's thread).
namespace nyxgate::net::detail {

/// The queue of a streamed answer, shared by the handler's writer (any thread) and the session
/// (its shard's thread). `scheduled` means the session will look at the queue again by itself (the
/// head or a batch is being written, or a wake-up is posted), so a burst of writes costs one
/// post, and everything queued meanwhile goes out in one gathered write.
struct stream_state;

/// What a streamed answer's queue wakes when it has something again (its session).
class stream_owner {
 public:
  virtual ~stream_owner() = default;
  /// From a writer whose queue was idle, on any thread: `state` is to be looked at on the
  /// owner's thread. `self` is the owner, already held.
  virtual void wake_stream(std::shared_ptr<stream_owner> self,
                           std::shared_ptr<stream_state> state) = 0;
};

struct stream_state : std::enable_shared_from_this<stream_state> {
  std::mutex mutex;
  std::vector<std::string> queue;
  std::shared_ptr<const std::function<void()>> drained;
  std::atomic<std::size_t> queued{0};  ///< queued plus being written
  bool scheduled = true;
  bool finished = false;
  bool gone = false;
  std::weak_ptr<stream_owner> owner;

  bool write(std::string piece);
  void finish();
  void wake();
};

/// The handler's face of a stream. Dropping it without `finish()` finishes the answer, so a
/// forgetful handler ends the body cleanly instead of leaving the client hanging.
class chunk_writer final : public response_writer {
 public:
  explicit chunk_writer(std::shared_ptr<stream_state> state) : state_(std::move(state)) {}
  ~chunk_writer() override { state_->finish(); }
  bool write(std::string piece) override { return state_->write(std::move(piece)); }
  void finish() override { state_->finish(); }
  std::size_t queued_bytes() const override {
    return state_->queued.load(std::memory_order_relaxed);
  }
  void on_drained(std::function<void()> fn) override {
    auto shared = std::make_shared<const std::function<void()>>(std::move(fn));
    std::lock_guard lock(state_->mutex);
    state_->drained = std::move(shared);
  }

 private:
  std::shared_ptr<stream_state> state_;
};

/// The JSON error body of an answer the session gives itself (408, 413, 431, ...).
std::string error_body(std::string_view message, std::string_view code);

/// An answer's status line and headers as they go on the wire, blank line included: the
/// handler's headers (minus unsafe ones and those the session owns), then the session's own,
/// then the body's framing (`Content-Length: n` or `Transfer-Encoding: chunked`; none if
/// `framing_name` is empty). One string, so it can share one write with the body.
std::string compose_head(unsigned version, const http_response& response,
                         std::string_view request_id, bool close, std::string_view framing_name,
                         std::string_view framing_value);

}  // namespace nyxgate::net::detail
