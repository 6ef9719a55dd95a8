#pragma once
// Beast's HTTP/1 parsing (limits, chunked bodies, keep-alive rules) writing straight into our
// own request and response types. `http::parser` keeps a header in `basic_fields`: a node
// allocation and a tree insert per field, which the session and the client then copied field
// by field into lower-cased pairs. Included by the two sources that parse HTTP only.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/optional.hpp>

#include "net/http/types.hpp"
#include "net/client/https_client.hpp"

namespace nyxgate::net::detail {

/// Fields as lower-cased name/value pairs; what happens to the body is the derived class's.
template <bool IsRequest>
class header_reader : public boost::beast::http::basic_parser<IsRequest> {
 protected:
  using string_view = boost::beast::string_view;
  using error_code = boost::system::error_code;

  explicit header_reader(std::vector<std::pair<std::string, std::string>>& headers)
      : headers_(headers) {}  // not touched here: the derived class's member

  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    std::string lower{name.data(), name.size()};
    ascii_lower(lower);
    headers_.emplace_back(std::move(lower), std::string{value.data(), value.size()});
  }
  void on_header_impl(error_code&) override {}
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  void on_finish_impl(error_code&) override {}

 private:
  std::vector<std::pair<std::string, std::string>>& headers_;
};

/// Fields as lower-cased name/value pairs, and the body as one string.
template <bool IsRequest>
class collecting_reader : public header_reader<IsRequest> {
 protected:
  using typename header_reader<IsRequest>::string_view;
  using typename header_reader<IsRequest>::error_code;

  collecting_reader(std::vector<std::pair<std::string, std::string>>& headers, std::string& body)
      : header_reader<IsRequest>(headers), body_(body) {}

  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The parser has refused a length over its body limit before this runs.
    if (length) body_.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(string_view piece, error_code&) override {
    body_.append(piece.data(), piece.size());
    return piece.size();
  }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view piece, error_code&) override {
    body_.append(piece.data(), piece.size());
    return piece.size();
  }

 private:
  std::string& body_;
};

/// A request into an `http_request` (method, target, lower-cased headers, body).
class request_reader final : public collecting_reader<true> {
 public:
  request_reader() : collecting_reader(req.headers, req.body) { req.headers.reserve(8); }
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;

  http_request req;
  unsigned version = 11;
  bool transfer_encoding = false;  ///< a Transfer-Encoding field came; chunked() says which
  bool expect_continue = false;    ///< the first Expect field asks for 100-continue

 private:
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int v,
                       error_code&) override {
    req.method.assign(method.data(), method.size());
    req.target.assign(target.data(), target.size());
    version = static_cast<unsigned>(v);
  }
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field f, string_view name, string_view value,
                     error_code& ec) override {
    using boost::beast::http::field;
    if (f == field::transfer_encoding) transfer_encoding = true;
    if (f == field::expect && !expect_seen_) {
      expect_seen_ = true;
      expect_continue = boost::beast::iequals(value, "100-continue");
    }
    collecting_reader::on_field_impl(f, name, value, ec);
  }

  bool expect_seen_ = false;
};

/// A whole answer into an `outbound_response` (status, lower-cased headers, body).
class response_reader final : public collecting_reader<false> {
 public:
  response_reader() : collecting_reader(out.headers, out.body) { out.headers.reserve(8); }
  response_reader(const response_reader&) = delete;
  response_reader& operator=(const response_reader&) = delete;

  outbound_response out;

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int status, string_view, int, error_code&) override {
    out.status = static_cast<unsigned>(status);
  }
};

/// A streamed answer: status and headers into `head`, body bytes into a window the caller
/// lends (`lend`) as `http::buffer_body` does it: once the window is full the parse stops
/// with `need_buffer` and goes on when the next window is lent.
class stream_reader final : public header_reader<false> {
 public:
  stream_reader() : header_reader(head.headers) { head.headers.reserve(8); }
  stream_reader(const stream_reader&) = delete;
  stream_reader& operator=(const stream_reader&) = delete;

  outbound_response head;

  void lend(char* data, std::size_t size) {
    data_ = data;
    room_ = size;
  }
  /// What is left of the lent window.
  std::size_t room() const { return room_; }

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int status, string_view, int, error_code&) override {
    head.status = static_cast<unsigned>(status);
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view piece, error_code& ec) override { return take(piece, ec); }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view piece, error_code& ec) override {
    return take(piece, ec);
  }

  std::size_t take(string_view piece, error_code& ec) {
    auto n = std::min(piece.size(), room_);
    if (n > 0) std::memcpy(data_, piece.data(), n);
    data_ += n;
    room_ -= n;
    if (n < piece.size()) ec = boost::beast::http::error::need_buffer;
    return n;
  }

  char* data_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace nyxgate::net::detail
