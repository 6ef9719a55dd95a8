#include "net/http/writer.hpp"

#include <boost/beast/http/status.hpp>

#include "telemetry/utf8.hpp"

namespace nyxgate::net::detail {

namespace http = boost::beast::http;

namespace {

/// Headers the session writes itself; a handler's copy of one is dropped.
bool reserved_header(std::string_view name) {
  return header_name_in(name, {"server", "content-type", "x-request-id", "content-length",
                               "connection", "transfer-encoding"});
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  using namespace std::string_view_literals;
  out.append(name).append(": "sv).append(value).append("\r\n"sv);
}

}  // namespace

std::string error_body(std::string_view message, std::string_view code) {
  std::string out = R"({"error":{"message":")";
  telemetry::append_json_escaped_untrusted(out, message);
  out += R"(","type":"invalid_request_error","code":")";
  out += code;
  out += R"(","param":null}})";
  return out;
}

std::string compose_head(unsigned version, const http_response& response,
                         std::string_view request_id, bool close, std::string_view framing_name,
                         std::string_view framing_value) {
  std::string out;
  out.reserve(256);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += http::obsolete_reason(http::int_to_status(response.status));
  out += "\r\n";
  for (const auto& [k, v] : response.headers)
    if (!has_line_break(k) && !has_line_break(v) && !reserved_header(k)) append_field(out, k, v);
  out += response.head_lines;
  append_field(out, "Server", "nyxgate");
  append_field(out, "Content-Type", response.content_type);
  append_field(out, "x-request-id", request_id);
  if (!framing_name.empty()) append_field(out, framing_name, framing_value);
  if (close && version == 11) append_field(out, "Connection", "close");
  if (!close && version == 10) append_field(out, "Connection", "keep-alive");
  out += "\r\n";
  return out;
}

bool stream_state::write(std::string piece) {
  bool wake_session = false;
  {
    std::lock_guard lock(mutex);
    if (gone || finished) return false;
    if (piece.empty()) return true;  // an empty chunk would end the body
    queued.fetch_add(piece.size(), std::memory_order_relaxed);
    queue.push_back(std::move(piece));
    wake_session = !std::exchange(scheduled, true);
  }
  if (wake_session) wake();
  return true;
}

void stream_state::finish() {
  {
    std::lock_guard lock(mutex);
    if (gone || finished) return;
    finished = true;
    if (std::exchange(scheduled, true)) return;
  }
  wake();
}

void stream_state::wake() {
  auto s = owner.lock();
  if (!s) return;
  s->wake_stream(s, shared_from_this());
}

}  // namespace nyxgate::net::detail
