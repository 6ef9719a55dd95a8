#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "actors/call_sink.hpp"
#include "net/http/types.hpp"

namespace nyxgate::api {

/// The x-nyxgate-* headers of SPEC §3.
void add_served_headers(const actors::served_by& who, net::http_response& out);

/// Tells `fn` once why `signal` fired (the client left, or the server stops).
void forward_stop(net::disconnect_signal& signal, std::function<void(actors::call_stop)> fn);

/// A call answered over HTTP: one `chat.completion` JSON answer (an embeddings call's: the
/// embeddings list), or a stream as Server-Sent
/// Events in OpenAI's framing (`data: {chunk}` events, the usage chunk when asked for,
/// `data: [DONE]`). A failure before the commit is an OpenAI error answer. The commit of a
/// stream sends the head through `respond`; the session hands back its writer later, so
/// pieces produced before then wait here.
class http_sink final : public actors::call_sink, public std::enable_shared_from_this<http_sink> {
 public:
  struct options {
    std::string_view request_id;  ///< the completion's id is `chatcmpl-<request_id>`
    bool stream = false;
    bool include_usage = false;  ///< stream_options.include_usage
    bool base64 = false;         ///< an embeddings answer: encoding_format "base64"
  };
  http_sink(net::respond_fn respond, std::shared_ptr<net::disconnect_signal> disconnected,
            const options& opts);

  void committed(const actors::served_by& who) override;
  bool content(std::span<const actors::content_delta> deltas) override;
  void done(const actors::call_result& result) override;
  void failed(const actors::call_failure& failure) override;
  std::size_t queued_bytes() const override;
  void on_drained(std::function<void()> fn) override;
  void on_stop(std::function<void(actors::call_stop)> fn) override;

 private:
  void attach(std::shared_ptr<net::response_writer> writer);
  bool write(std::string piece);
  void finish();

  net::respond_fn respond_;
  std::shared_ptr<net::disconnect_signal> disconnected_;
  std::string completion_id_;
  std::int64_t created_ = 0;
  bool stream_ = false;
  bool include_usage_ = false;
  bool base64_ = false;

  // The request actor's, one event at a time.
  bool committed_ = false;
  net::http_response answer_;  ///< the JSON answer's head, from the commit on
  std::string model_;          ///< the committed model
  std::string chunk_head_;     ///< what each chunk of the stream starts with

  // The stream's hand-over to the session's writer.
  mutable std::mutex mutex_;
  std::shared_ptr<net::response_writer> writer_;
  std::string pending_;
  bool finish_pending_ = false;
  std::function<void()> drained_;
};

}  // namespace nyxgate::api
