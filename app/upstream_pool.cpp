#include "app/upstream_pool.hpp"

#include <utility>

#include "net/client/https_client.hpp"

namespace nyxgate::app {

namespace {

class exchange_handle final : public actors::upstream_exchange {
 public:
  explicit exchange_handle(std::shared_ptr<net::outbound_stream> x) : x_(std::move(x)) {}
  void cancel() override { x_->cancel(); }
  void pause() override { x_->pause(); }
  void resume() override { x_->resume(); }

 private:
  std::shared_ptr<net::outbound_stream> x_;
};

class shard_pool final : public actors::upstream_pool {
 public:
  explicit shard_pool(std::shared_ptr<net::shard_client> shard) : shard_(std::move(shard)) {}

  actors::upstream_exchange_ptr open(actors::upstream_call call,
                                     std::shared_ptr<actors::upstream_reader> reader) override {
    net::outbound_request req;
    req.method = "POST";
    req.url = std::move(call.url);
    req.headers = std::move(call.headers);
    req.body = std::move(call.body);
    req.timeout = call.timeout;
    req.deadline = call.deadline;
    req.max_response_bytes = call.max_response_bytes;
    // Plain pointers: the exchange keeps the reader (`keep`) until its `on_end` has run.
    auto* r = reader.get();
    net::stream_handlers h;
    h.on_head = [r](const net::outbound_response& head) {
      std::string retry_after = head.status == 0 ? std::string{} : head.header("retry-after");
      r->on_head(actors::upstream_head{head.status, head.error, retry_after});
    };
    h.on_data = [r](std::string_view piece) { return r->on_data(piece); };
    h.on_end = [r](const std::string& error) { r->on_end(error); };
    h.hold = [r] { return r->hold(); };
    h.keep = std::move(reader);
    return std::make_shared<exchange_handle>(
        shard_->open_stream(std::move(req), call.idle_timeout, std::move(h)));
  }

 private:
  std::shared_ptr<net::shard_client> shard_;
};

}  // namespace

actors::upstream_pool_ptr make_upstream_pool(std::shared_ptr<net::shard_client> shard) {
  return std::make_shared<shard_pool>(std::move(shard));
}

}  // namespace nyxgate::app
