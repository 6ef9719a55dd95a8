#include "api/openai/sse_sink.hpp"

#include <array>
#include <charconv>
#include <utility>

#include "providers/chat.hpp"

namespace nyxgate::api {

namespace {

/// One SSE event in OpenAI's framing: `data: {json}` and a blank line.
void append_event(std::string& out, std::string_view json) {
  out.append("data: ").append(json).append("\n\n");
}

std::string sse_event(std::string_view json) {
  std::string piece;
  piece.reserve(json.size() + 8);
  append_event(piece, json);
  return piece;
}

}  // namespace

void add_served_headers(const actors::served_by& who, net::http_response& out) {
  using namespace std::string_view_literals;
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

void sse_sink::commit(const actors::served_by& who) {
  net::http_response out;
  out.status = 200;
  out.content_type = "text/event-stream";
  out.route = telemetry::route_kind::data_plane;
  out.headers.emplace_back("cache-control", "no-cache");
  add_served_headers(who, out);
  out.stream = [self = shared_from_this()](std::shared_ptr<net::response_writer> w) {
    self->attach(std::move(w));
  };
  respond_(std::move(out));
}

void sse_sink::attach(std::shared_ptr<net::response_writer> writer) {
  // Under the lock, so that a chunk produced meanwhile cannot overtake the pending ones: it
  // either joined `pending_` (written here) or finds `writer_` set after these writes.
  std::lock_guard lock(mutex_);
  writer_ = writer;
  if (drained_) writer->on_drained(drained_);
  if (!pending_.empty()) writer->write(std::exchange(pending_, {}));
  if (finish_pending_) writer->finish();
}

bool sse_sink::write(std::string piece) {
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

void sse_sink::finish() {
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

bool sse_sink::chunk(std::string chunk_json) {
  return write(sse_event(chunk_json));
}

bool sse_sink::chunks(std::vector<std::string>& chunk_jsons) {
  std::size_t size = 0;
  for (const auto& c : chunk_jsons) size += c.size() + 8;
  std::string events;
  events.reserve(size);
  for (const auto& c : chunk_jsons) append_event(events, c);
  return events.empty() || write(std::move(events));
}

void sse_sink::done(const std::string&, std::int64_t, std::int64_t, std::string usage_chunk_json) {
  std::string tail;
  if (!usage_chunk_json.empty()) tail = sse_event(usage_chunk_json);
  append_event(tail, "[DONE]");
  write(std::move(tail));
  finish();
}

void sse_sink::broken(const std::string& code, const std::string& message) {
  write(sse_event(providers::render_error(message, "upstream_error", code)));
  finish();
}

std::size_t sse_sink::queued_bytes() const {
  std::lock_guard lock(mutex_);
  return writer_ ? writer_->queued_bytes() : pending_.size();
}

void sse_sink::on_drained(std::function<void()> fn) {
  std::shared_ptr<net::response_writer> w;
  {
    std::lock_guard lock(mutex_);
    drained_ = fn;
    w = writer_;
  }
  if (w) w->on_drained(std::move(fn));
}

}  // namespace nyxgate::api
