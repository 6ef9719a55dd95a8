#include "net/client/https_client.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/client/exchange.hpp"
#include "runtime/io_runtime.hpp"

namespace nyxgate::net {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::system::error_code;

std::string outbound_response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

namespace {

/// Exchanges on one io_context with its own pool (see shard_client).
class shard_impl final : public shard_client {
 public:
  shard_impl(asio::io_context& io, std::shared_ptr<ssl::context> tls_context, bool verify)
      : site_{io, std::move(tls_context), verify, std::make_shared<detail::connection_pool>()} {}

  void send(outbound_request req, std::function<void(outbound_response)> done) {
    detail::send_whole(site_, std::move(req), std::move(done));
  }

  std::shared_ptr<outbound_stream> open_stream(outbound_request req,
                                               std::chrono::milliseconds idle_timeout,
                                               stream_handlers handlers) override {
    return detail::open_streamed(site_, std::move(req), idle_timeout, std::move(handlers));
  }

  std::size_t pooled_connections() const override { return site_.pool->size(); }

 private:
  detail::exchange_site site_;
};

class client_impl final : public https_client {
 public:
  client_impl(asio::io_context& io, tls_options tls)
      : io_(io),
        verify_(tls.verify),
        tls_context_(std::make_shared<ssl::context>(ssl::context::tls_client)) {
    SSL_CTX_set_min_proto_version(tls_context_->native_handle(), TLS1_2_VERSION);
    error_code ec;
    tls_context_->set_default_verify_paths(ec);  // a missing system store is not fatal
    if (!tls.ca_file.empty()) {
      tls_context_->load_verify_file(tls.ca_file, ec);
      if (ec)
        throw std::runtime_error("tls: cannot load CA file " + tls.ca_file + ": " + ec.message());
    }
    tls_context_->set_verify_mode(verify_ ? ssl::verify_peer : ssl::verify_none);
  }

  void send(outbound_request req, std::function<void(outbound_response)> done) override {
    shard(req).send(std::move(req), std::move(done));
  }

  std::shared_ptr<outbound_stream> open_stream(outbound_request req,
                                               std::chrono::milliseconds idle_timeout,
                                               stream_handlers handlers) override {
    return shard(req).open_stream(std::move(req), idle_timeout, std::move(handlers));
  }

  std::size_t pooled_connections() const override {
    std::lock_guard lock{mutex_};
    std::size_t n = 0;
    for (const auto& [io, shard] : shards_) n += shard->pooled_connections();
    return n;
  }

  std::shared_ptr<shard_client> for_shard(asio::io_context& io) override {
    return std::make_shared<shard_impl>(io, tls_context_, verify_);
  }

 private:
  /// The exchanges of `req.context` (else the calling thread's): the map is shared by every
  /// thread, each pool only by its own io_context's exchanges.
  shard_impl& shard(const outbound_request& req) {
    auto& io = req.context ? *req.context : runtime::local_context(io_);
    std::lock_guard lock{mutex_};
    auto& slot = shards_[&io];
    if (!slot) slot = std::make_unique<shard_impl>(io, tls_context_, verify_);
    return *slot;
  }

  asio::io_context& io_;
  bool verify_;
  std::shared_ptr<ssl::context> tls_context_;
  mutable std::mutex mutex_;
  std::map<const asio::io_context*, std::unique_ptr<shard_impl>> shards_;
};

}  // namespace

std::shared_ptr<https_client> https_client::create(asio::io_context& io, tls_options tls) {
  return std::make_shared<client_impl>(io, std::move(tls));
}

asio::awaitable<outbound_response> https_client::async_send(outbound_request req) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(outbound_response)>(
      [this](auto handler, outbound_request r) {
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        send(std::move(r), [shared](outbound_response res) {
          auto ex = asio::get_associated_executor(*shared);
          asio::dispatch(ex, [shared, res = std::move(res)]() mutable {
            std::move (*shared)(std::move(res));
          });
        });
      },
      asio::use_awaitable, std::move(req));
}

}  // namespace nyxgate::net
