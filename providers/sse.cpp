// The incremental Server-Sent Events parser (WHATWG "event stream interpretation").
#include "providers/chat.hpp"

#include <cstring>

namespace nyxgate::providers {

sse_parser::sse_parser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void sse_parser::dispatch_line(std::string_view line,
                               const std::function<void(const sse_event&)>& emit) {
  if (line.empty()) {
    // A blank line ends the event; one without data is dropped, as the standard says.
    if (has_data_) {
      if (!current_.data.empty() && current_.data.back() == '\n') current_.data.pop_back();
      emit(current_);
    }
    // Cleared, not replaced: the buffers serve the next event.
    current_.data.clear();
    current_.event.clear();
    current_.id.clear();
    has_data_ = false;
    event_bytes_ = 0;
    return;
  }
  if (line.front() == ':') return;  // a comment
  auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    current_.data.append(value.data(), value.size());
    current_.data += '\n';
    has_data_ = true;
  } else if (field == "event") {
    current_.event.assign(value.data(), value.size());
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) current_.id.assign(value.data(), value.size());
  }
  // "retry" and unknown fields are ignored.
}

namespace {

/// The first CR or LF from `from` on, or npos. Two memchr passes beat find_first_of, which
/// looks each byte up in the set; providers end lines with LF, so the CR pass stops early.
std::size_t line_end(std::string_view bytes, std::size_t from) {
  const char* begin = bytes.data() + from;
  std::size_t n = bytes.size() - from;
  const auto* lf = static_cast<const char*>(std::memchr(begin, '\n', n));
  std::size_t scan = lf ? static_cast<std::size_t>(lf - begin) : n;
  const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', scan));
  const char* end = cr ? cr : lf;
  return end ? from + static_cast<std::size_t>(end - begin) : std::string_view::npos;
}

}  // namespace

bool sse_parser::feed(std::string_view bytes, std::vector<sse_event>& out) {
  return feed(bytes, [&out](const sse_event& e) { out.push_back(e); });
}

bool sse_parser::feed(std::string_view bytes, const std::function<void(const sse_event&)>& out) {
  if (!seen_bom_check_) {
    // A leading UTF-8 BOM may itself arrive split across reads.
    static constexpr std::string_view bom = "\xEF\xBB\xBF";
    line_.append(bytes.data(), bytes.size());
    std::string_view head{line_};
    if (head.size() < bom.size() && bom.substr(0, head.size()) == head) return true;
    seen_bom_check_ = true;
    std::string pending = std::move(line_);
    line_.clear();
    std::string_view rest{pending};
    if (rest.substr(0, bom.size()) == bom) rest.remove_prefix(bom.size());
    return feed(rest, out);
  }
  std::size_t i = 0;
  if (last_was_cr_ && !bytes.empty() && bytes.front() == '\n') i = 1;  // CRLF split across reads
  last_was_cr_ = false;
  while (i < bytes.size()) {
    auto end = line_end(bytes, i);
    if (end == std::string_view::npos) {
      line_.append(bytes.data() + i, bytes.size() - i);
      event_bytes_ += bytes.size() - i;
      return event_bytes_ <= max_event_bytes_;
    }
    event_bytes_ += end - i + 1;
    if (event_bytes_ > max_event_bytes_) return false;
    if (line_.empty()) {
      // The whole line is in this read: no copy.
      dispatch_line(bytes.substr(i, end - i), out);
    } else {
      line_.append(bytes.data() + i, end - i);
      dispatch_line(line_, out);
      line_.clear();
    }
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        last_was_cr_ = true;
      }
    }
    i = end + 1;
  }
  return true;
}

}  // namespace nyxgate::providers
