#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "net/http/types.hpp"
#include "actors/call_sink.hpp"

namespace nyxgate::api {

/// The x-nyxgate-* headers of SPEC §3.
void add_served_headers(const actors::served_by& who, net::http_response& out);

/// A streamed call answered as Server-Sent Events in OpenAI's framing: `data: {chunk}` events,
/// the usage chunk when asked for, `data: [DONE]`. The commit sends the head through `respond`;
/// the session hands back its writer later, so pieces produced before then wait here.
class sse_sink : public actors::stream_sink, public std::enable_shared_from_this<sse_sink> {
 public:
  explicit sse_sink(net::respond_fn respond) : respond_(std::move(respond)) {}

  void commit(const actors::served_by& who) override;
  bool chunk(std::string chunk_json) override;
  bool chunks(std::vector<std::string>& chunk_jsons) override;
  void done(const std::string& finish_reason, std::int64_t prompt_tokens,
            std::int64_t completion_tokens, std::string usage_chunk_json) override;
  void broken(const std::string& code, const std::string& message) override;
  std::size_t queued_bytes() const override;
  void on_drained(std::function<void()> fn) override;

 private:
  void attach(std::shared_ptr<net::response_writer> writer);
  bool write(std::string piece);
  void finish();

  net::respond_fn respond_;
  mutable std::mutex mutex_;
  std::shared_ptr<net::response_writer> writer_;
  std::string pending_;
  bool finish_pending_ = false;
  std::function<void()> drained_;
};

}  // namespace nyxgate::api
