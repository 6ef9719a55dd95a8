#include "api/openai/http_sink.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <utility>

#include "api/openai/errors.hpp"
#include "providers/chat.hpp"

namespace nyxgate::api {

using namespace std::string_view_literals;

namespace {

/// One SSE event in OpenAI's framing: `data: {json}` and a blank line.
void append_event(std::string& out, std::string_view json) {
  out.append("data: "sv).append(json).append("\n\n"sv);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void add_served_headers(const actors::served_by& who, net::http_response& out) {
  auto& lines = out.head_lines;
  lines.reserve(lines.size() + 192);
  auto field = [&lines](std::string_view name, std::string_view value) {
    // The model name may come from the client: a line break would split the head.
    if (net::has_line_break(value)) return;
    lines.append(name).append(": "sv).append(value).append("\r\n"sv);
  };
  if (!who.provider.empty()) {
    field("x-nyxgate-provider"sv, who.provider);
    field("x-nyxgate-model"sv, who.model);
    field("x-nyxgate-key-scope"sv, who.key_scope);
    field("x-nyxgate-fallback"sv, who.fallback ? "true"sv : "false"sv);
  }
  std::array<char, 24> digits;
  auto number = [&digits](std::int64_t n) {
    auto end = std::to_chars(digits.begin(), digits.end(), n).ptr;
    return std::string_view{digits.data(), static_cast<std::size_t>(end - digits.data())};
  };
  field("x-nyxgate-attempts"sv, number(who.attempts));
  field("x-nyxgate-overhead-us"sv, number(who.overhead_us));
}

void forward_stop(net::disconnect_signal& signal, std::function<void(actors::call_stop)> fn) {
  // The signal outlives its own callbacks: a plain pointer to it is safe here.
  signal.subscribe([s = &signal, fn = std::move(fn)] {
    fn(s->cause() == net::disconnect_cause::server_stopping ? actors::call_stop::server_stopping
                                                            : actors::call_stop::client_gone);
  });
}

http_sink::http_sink(net::respond_fn respond, std::shared_ptr<net::disconnect_signal> disconnected,
                     const options& opts)
    : respond_(std::move(respond)),
      disconnected_(std::move(disconnected)),
      created_(unix_now()),
      stream_(opts.stream),
      include_usage_(opts.include_usage),
      base64_(opts.base64) {
  completion_id_.reserve(opts.request_id.size() + 9);
  completion_id_.append("chatcmpl-"sv).append(opts.request_id);
}

void http_sink::committed(const actors::served_by& who) {
  committed_ = true;
  answer_.route = telemetry::route_kind::data_plane;
  add_served_headers(who, answer_);
  model_ = who.model;
  if (!stream_) return;  // the answer goes out with its body
  chunk_head_ = providers::render_chunk_head(completion_id_, model_, created_);
  answer_.content_type = "text/event-stream";
  answer_.headers.emplace_back("cache-control", "no-cache");
  answer_.stream = [self = shared_from_this()](std::shared_ptr<net::response_writer> w) {
    self->attach(std::move(w));
  };
  respond_(std::move(answer_));
}

void http_sink::attach(std::shared_ptr<net::response_writer> writer) {
  // Under the lock, so that a piece produced meanwhile cannot overtake the pending ones: it
  // either joined `pending_` (written here) or finds `writer_` set after these writes.
  std::lock_guard lock(mutex_);
  writer_ = writer;
  if (drained_) writer->on_drained(drained_);
  if (!pending_.empty()) writer->write(std::exchange(pending_, {}));
  if (finish_pending_) writer->finish();
}

bool http_sink::write(std::string piece) {
  std::shared_ptr<net::response_writer> w;
  {
    std::lock_guard lock(mutex_);
    if (!writer_) {
      pending_ += piece;
      return true;
    }
    w = writer_;
  }
  return w->write(std::move(piece));
}

void http_sink::finish() {
  std::shared_ptr<net::response_writer> w;
  {
    std::lock_guard lock(mutex_);
    if (!writer_) {
      finish_pending_ = true;
      return;
    }
    w = writer_;
  }
  w->finish();
}

bool http_sink::content(std::span<const actors::content_delta> deltas) {
  if (deltas.empty()) return true;  // no empty write: it would end the body
  std::size_t size = 0;
  for (const auto& d : deltas) {
    size += chunk_head_.size() + d.content.size() + 112;
    for (const auto& t : d.tool_calls)
      size += t.id.size() + t.name.size() + t.arguments.size() + 96;
  }
  std::string events;
  events.reserve(size);
  for (const auto& d : deltas) {
    events.append("data: "sv);
    providers::append_chunk_with_head(events, chunk_head_, d.content, d.role_start, d.finish_reason,
                                      d.tool_calls);
    events.append("\n\n"sv);
  }
  return write(std::move(events));
}

void http_sink::done(const actors::call_result& result) {
  if (!stream_) {
    if (result.completion && result.completion->embedding)
      answer_.body = providers::render_embeddings(*result.completion->embedding, model_, base64_);
    else if (result.completion)
      answer_.body =
          providers::render_completion(*result.completion, completion_id_, model_, created_);
    respond_(std::move(answer_));
    return;
  }
  std::string tail;
  if (include_usage_)
    append_event(tail,
                 providers::render_usage_chunk(completion_id_, model_, created_, result.usage));
  append_event(tail, "[DONE]"sv);
  write(std::move(tail));
  finish();
}

void http_sink::failed(const actors::call_failure& failure) {
  auto body = render_error(failure_fields(failure, false));
  if (committed_ && stream_) {
    std::string event;
    event.reserve(body.size() + 8);
    append_event(event, body);
    write(std::move(event));
    finish();
    return;
  }
  net::http_response out;
  out.status = failure.status;
  out.route = telemetry::route_kind::data_plane;
  out.body = std::move(body);
  add_served_headers(failure.who, out);
  respond_(std::move(out));
}

std::size_t http_sink::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return writer_ ? writer_->queued_bytes() : pending_.size();
}

void http_sink::on_drained(std::function<void()> fn) {
  std::shared_ptr<net::response_writer> w;
  {
    std::lock_guard lock(mutex_);
    drained_ = fn;
    w = writer_;
  }
  if (w) w->on_drained(std::move(fn));
}

void http_sink::on_stop(std::function<void(actors::call_stop)> fn) {
  forward_stop(*disconnected_, std::move(fn));
}

}  // namespace nyxgate::api
