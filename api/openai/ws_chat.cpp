#include "api/openai/ws_chat.hpp"

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>

#include "actors/call_sink.hpp"
#include "actors/request_actor.hpp"
#include "api/openai/errors.hpp"
#include "api/openai/http_sink.hpp"
#include "api/pipeline_progress.hpp"
#include "identity/authenticator.hpp"
#include "identity/token.hpp"
#include "providers/chat.hpp"
#include "runtime/io_runtime.hpp"
#include "storage/uuid.hpp"
#include "telemetry/json_escape.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// Messages that arrive while an `auth` message is being checked wait, in order, up to this
/// many; more is a client not waiting for its own auth.
constexpr std::size_t max_backlog = 32;
constexpr std::size_t max_id_bytes = 128;

/// An error of the socket's own (no HTTP status): the server's side, or the message's.
std::string error_event(std::string_view id, std::string_view code, std::string_view message) {
  bool server = code == "auth_unavailable" || code == "shutting_down";
  return render_ws_error(
      id, error_fields{message, server ? "server_error" : "invalid_request_error", code});
}

class ws_chat;

/// One chat stream of a socket: the request actor's view of it. The request actor calls
/// `committed`, `content`, `done` and `failed` one at a time.
class ws_stream_sink final : public actors::call_sink {
 public:
  ws_stream_sink(std::shared_ptr<net::ws_connection> conn, std::string id, std::string request_id,
                 std::weak_ptr<ws_chat> owner)
      : conn_(std::move(conn)),
        id_(std::move(id)),
        request_id_(std::move(request_id)),
        owner_(std::move(owner)),
        created_(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()) {
    telemetry::append_json_escaped(id_json_, id_);
  }

  void committed(const actors::served_by& who) override {
    committed_ = true;
    chunk_head_ = providers::render_chunk_head("chatcmpl-" + request_id_, who.model, created_);
    json::object meta{{"type", "meta"},
                      {"id", id_},
                      {"requestId", request_id_},
                      {"provider", who.provider},
                      {"model", who.model},
                      {"keyScope", who.key_scope},
                      {"fallback", who.fallback},
                      {"attempts", who.attempts},
                      {"overheadUs", who.overhead_us}};
    send(json::serialize(meta));
  }

  /// One `delta` message per chunk: the protocol's unit.
  bool content(std::span<const actors::content_delta> deltas) override {
    for (const auto& d : deltas) {
      std::string ev;
      std::size_t size = chunk_head_.size() + d.content.size() + id_json_.size() + 136;
      for (const auto& t : d.tool_calls)
        size += t.id.size() + t.name.size() + t.arguments.size() + 96;
      ev.reserve(size);
      ev.append(R"({"type":"delta","id":")").append(id_json_).append(R"(","chunk":)");
      providers::append_chunk_with_head(ev, chunk_head_, d.content, d.role_start, d.finish_reason,
                                        d.tool_calls);
      ev.push_back('}');
      if (!send(std::move(ev))) return false;
    }
    return true;
  }

  void done(const actors::call_result& result) override {
    auto prompt = result.usage.prompt_tokens, completion = result.usage.completion_tokens;
    json::object usage{{"prompt_tokens", prompt},
                       {"completion_tokens", completion},
                       {"total_tokens", prompt + completion}};
    send(json::serialize(json::object{{"type", "done"},
                                      {"id", id_},
                                      {"usage", std::move(usage)},
                                      {"finishReason", result.finish_reason}}));
    end();
  }

  /// Before the commit the error carries the HTTP status the call would have answered with.
  void failed(const actors::call_failure& failure) override {
    send(render_ws_error(id_, failure_fields(failure, !committed_)));
    end();
  }

  void on_stop(std::function<void(actors::call_stop)> fn) override {
    forward_stop(*cancel_, std::move(fn));
  }

  /// Fired when the client cancels the id or the socket closes (`client_gone`), or when the
  /// server stops (`server_stopping`).
  const std::shared_ptr<net::disconnect_signal>& cancel_signal() const { return cancel_; }

  /// The client cancelled, or the socket closed: nothing more goes out for this id.
  void silence() { silenced_.store(true); }

  std::size_t queued_bytes() const override { return conn_->queued_bytes(); }

  void on_drained(std::function<void()> fn) override {
    std::lock_guard lock(mutex_);
    drained_ = std::move(fn);
  }

  void drained() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mutex_);
      fn = drained_;
    }
    if (fn) fn();
  }

 private:
  bool send(std::string event) {
    if (silenced_.load()) return false;
    return conn_->send(std::move(event));
  }
  void end();

  std::shared_ptr<net::ws_connection> conn_;
  std::string id_;
  std::string id_json_;  ///< id_, JSON-escaped
  std::string request_id_;
  std::weak_ptr<ws_chat> owner_;
  std::shared_ptr<net::disconnect_signal> cancel_ = std::make_shared<net::disconnect_signal>();
  std::int64_t created_ = 0;
  bool committed_ = false;  ///< the request actor's
  std::string chunk_head_;  ///< the request actor's
  std::atomic<bool> silenced_{false};
  std::mutex mutex_;
  std::function<void()> drained_;
};

class ws_chat final : public net::ws_endpoint, public std::enable_shared_from_this<ws_chat> {
 public:
  ws_chat(std::shared_ptr<const ws_chat_context> ctx, std::optional<identity::principal> who,
          std::optional<identity::token_digest> token)
      : ctx_(std::move(ctx)), who_(std::move(who)), token_(std::move(token)) {}

  // -- net::ws_endpoint (the socket's strand) -------------------------------------------------

  void on_open(std::shared_ptr<net::ws_connection> conn) override {
    conn_ = std::move(conn);
    if (who_) conn_->authenticated();
    // One drained callback per socket, fanned out to the streams paused on it.
    conn_->on_drained([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->fan_out_drained();
    });
  }

  void on_text(std::string message) override {
    if (auth_pending_) {
      if (backlog_.size() >= max_backlog) {
        conn_->send(error_event("", "too_many_messages", "wait for the auth answer"));
        return;
      }
      backlog_.push_back(std::move(message));
      return;
    }
    handle(message);
  }

  void on_binary() override {
    conn_->send(error_event("", "binary_not_supported",
                            "binary messages are not supported; send JSON text messages"));
  }

  void on_shutdown() override {
    bool idle = false;
    {
      std::lock_guard lock(mutex_);
      draining_ = true;
      idle = streams_.empty();
    }
    if (idle) conn_->close(1001, "server shutting down");
  }

  /// Each running stream's call ends with its error event (its signal says why); the sinks
  /// stay open for it, and the last one to finish closes the socket.
  void on_stopping() override {
    std::vector<std::shared_ptr<net::disconnect_signal>> signals;
    {
      std::lock_guard lock(mutex_);
      draining_ = true;
      for (auto& [id, e] : streams_) signals.push_back(e.cancel);
    }
    for (auto& s : signals) s->fire(net::disconnect_cause::server_stopping);
  }

  void on_close() override {
    std::map<std::string, entry> streams;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      streams.swap(streams_);
    }
    for (auto& [id, e] : streams) cancel_entry(e);
    std::vector<std::weak_ptr<run_watch>> watches;
    {
      std::lock_guard lock(mutex_);
      watches.swap(watches_);
    }
    for (auto& w : watches)
      if (auto watch = w.lock()) watch->stop();
    backlog_.clear();
    conn_.reset();  // it holds our drained callback: break the cycle
  }

  /// A stream ended (done, error, or failed before its commit). True when it was the last
  /// one of a draining socket: the caller closes the socket then.
  bool finished(const std::string& id, const ws_stream_sink* sink) {
    std::lock_guard lock(mutex_);
    auto it = streams_.find(id);
    if (it == streams_.end() || it->second.sink.get() != sink) return false;
    streams_.erase(it);
    telemetry::metrics().ws_streams.sub();
    return draining_ && streams_.empty() && !closed_;
  }

 private:
  struct entry {
    std::shared_ptr<ws_stream_sink> sink;
    std::shared_ptr<net::disconnect_signal> cancel;
  };

  void cancel_entry(entry& e) {
    e.sink->silence();
    e.cancel->fire();
    telemetry::metrics().ws_streams.sub();
  }

  void fan_out_drained() {
    std::vector<std::shared_ptr<ws_stream_sink>> sinks;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, e] : streams_) sinks.push_back(e.sink);
    }
    for (auto& s : sinks) s->drained();
  }

  void send_error(std::string_view id, std::string_view code, std::string_view message) {
    conn_->send(error_event(id, code, message));
  }

  void handle(const std::string& message) {
    json::parse_options opts;
    opts.max_depth = static_cast<std::size_t>(ctx_->options.max_json_depth);
    boost::system::error_code ec;
    auto value = json::parse(message, ec, {}, opts);
    if (ec) return send_error("", "invalid_json", "the message is not valid JSON: " + ec.message());
    auto* msg = value.if_object();
    const json::value* type = msg ? msg->if_contains("type") : nullptr;
    if (!type || !type->is_string())
      return send_error("", "invalid_message", "a message is a JSON object with a string \"type\"");
    auto kind = type->as_string();
    if (kind == "ping") {
      conn_->send(R"({"type":"pong"})");
      return;
    }
    if (kind == "auth") return handle_auth(*msg);
    if (kind == "chat.create") return handle_create(*msg);
    if (kind == "cancel") return handle_cancel(*msg);
    if (kind == "pipeline.subscribe") return handle_pipeline_subscribe(*msg);
    send_error("", "unknown_type",
               "unknown message type; expected auth, chat.create, cancel, pipeline.subscribe or "
               "ping");
  }

  void handle_auth(const json::object& msg) {
    if (who_) return send_error("", "already_authenticated", "this socket is authenticated");
    const auto* token = msg.if_contains("token");
    if (!token || !token->is_string() || token->as_string().empty())
      return send_error("", "invalid_message", "auth needs a string \"token\"");
    auth_pending_ = true;
    std::string header = "Bearer ";
    header.append(token->as_string().data(), token->as_string().size());
    auto digest = identity::authenticator::digest(header);
    asio::co_spawn(
        asio::make_strand(*ctx_->io),
        [self = shared_from_this(), conn = conn_, header = std::move(header),
         digest = std::move(digest)]() mutable -> asio::awaitable<void> {
          auto result = co_await self->ctx_->auth->authenticate(header);
          conn->dispatch([self, result = std::move(result), digest = std::move(digest)]() mutable {
            self->auth_done(std::move(result), std::move(digest));
          });
        },
        asio::detached);
  }

  void auth_done(identity::auth_result result, std::optional<identity::token_digest> digest) {
    auth_pending_ = false;
    if (!conn_) return;
    if (result.status != identity::auth_status::ok) {
      bool unavailable = result.status == identity::auth_status::unavailable;
      send_error(
          "", unavailable ? "auth_unavailable" : "invalid_api_key",
          unavailable ? "authentication is temporarily unavailable" : "invalid or revoked token");
      backlog_.clear();
      conn_->close(1008, unavailable ? "authentication unavailable" : "authentication failed");
      return;
    }
    who_ = std::move(result.who);
    token_ = std::move(digest);
    conn_->authenticated();
    conn_->send(R"({"type":"authenticated"})");
    drain_backlog();
  }

  void drain_backlog() {
    auto backlog = std::move(backlog_);
    backlog_.clear();
    for (auto& m : backlog) {
      if (auth_pending_) {  // another auth or re-check inside the backlog: the rest waits again
        backlog_.push_back(std::move(m));
        continue;
      }
      handle(m);
    }
  }

  /// The outcome of re-checking the socket's token for stream `id`: true when it still holds
  /// (the principal is refreshed: a role may have changed). A revoked token or a removed
  /// member closes the socket (1008); running streams are cancelled with it.
  bool still_authorized(const std::string& id, identity::auth_result result) {
    switch (result.status) {
      case identity::auth_status::ok:
        who_ = std::move(result.who);
        return true;
      case identity::auth_status::unavailable:
        send_error(id, "auth_unavailable", "authentication is temporarily unavailable; retry");
        return false;
      case identity::auth_status::missing:
      case identity::auth_status::invalid:
        break;
    }
    send_error(id, "invalid_api_key", "the token was revoked or its member removed");
    who_.reset();
    token_.reset();
    backlog_.clear();
    conn_->close(1008, "token revoked");
    return false;
  }

  /// A re-check the cache could not answer: the socket's messages wait (as behind `auth`)
  /// until the database has.
  void recheck_then_create(std::string id, json::object msg) {
    auth_pending_ = true;
    asio::co_spawn(
        asio::make_strand(*ctx_->io),
        [self = shared_from_this(), conn = conn_, token = *token_, id = std::move(id),
         msg = std::move(msg)]() mutable -> asio::awaitable<void> {
          auto result = co_await self->ctx_->auth->authenticate(std::move(token));
          conn->dispatch([self, result = std::move(result), id = std::move(id),
                          msg = std::move(msg)]() mutable {
            self->auth_pending_ = false;
            if (!self->conn_) return;
            if (self->still_authorized(id, std::move(result))) self->start_create(id, msg);
            self->drain_backlog();
          });
        },
        asio::detached);
  }

  /// The stream id of a message, or empty after an error event went out.
  std::string stream_id(const json::object& msg) {
    const auto* id = msg.if_contains("id");
    if (!id || !id->is_string() || id->as_string().empty() ||
        id->as_string().size() > max_id_bytes) {
      send_error("", "invalid_message", "\"id\" must be a non-empty string of at most 128 bytes");
      return {};
    }
    return std::string{id->as_string()};
  }

  void handle_create(const json::object& msg) {
    auto id = stream_id(msg);
    if (id.empty()) return;
    if (!who_ || !token_)
      return send_error(id, "unauthorized", "authenticate first: {\"type\":\"auth\"}");
    auto known = ctx_->auth->authenticate_cached(*token_);
    if (!known) return recheck_then_create(std::move(id), msg);
    if (still_authorized(id, std::move(*known))) start_create(id, msg);
  }

  void start_create(const std::string& id, const json::object& msg) {
    const auto* body = msg.if_contains("body");
    if (!body || !body->is_object())
      return send_error(id, "invalid_request", "chat.create needs a \"body\" object");
    auto parsed = providers::parse_chat_request(json::serialize(*body));
    if (auto* e = std::get_if<providers::request_error>(&parsed)) {
      auto text = e->param.empty() ? e->message : e->message + " (" + e->param + ")";
      return send_error(id, e->code, text);
    }
    auto request = std::get<providers::chat_request>(std::move(parsed));
    request.stream = true;  // a socket always streams

    actors::chat_call call;
    call.tenant_id = who_->tenant_id;
    call.user_id = who_->user_id;
    call.request_id = identity::new_request_id();
    call.request = std::make_shared<const providers::chat_request>(std::move(request));
    call.received_at = std::chrono::steady_clock::now();
    auto sink = std::make_shared<ws_stream_sink>(conn_, id, call.request_id, weak_from_this());
    auto cancel = sink->cancel_signal();
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      if (draining_)
        return send_error(id, "shutting_down", "the server is shutting down; reconnect");
      if (streams_.count(id))
        return send_error(id, "duplicate_id", "a stream with this id is running");
      if (streams_.size() >= ctx_->options.max_streams)
        return send_error(id, "too_many_streams",
                          "at most " + std::to_string(ctx_->options.max_streams) +
                              " streams may run at once on one socket");
      streams_.emplace(id, entry{sink, cancel});
      telemetry::metrics().ws_streams.add();
    }
    call.sink = std::move(sink);
    call.home = runtime::current_context();
    actors::spawn_request_actor(*ctx_->sys, ctx_->services, std::move(call));
  }

  /// Follows a run of the caller's tenant: `pipeline.progress` at every change, ending with
  /// the finished run; a run the tenant does not hold is an error event naming it.
  void handle_pipeline_subscribe(const json::object& msg) {
    const auto* run = msg.if_contains("runId");
    if (!run || !run->is_string() || run->as_string().size() != 36 ||
        !storage::is_uuid(std::string_view{run->as_string()}))
      return send_error("", "invalid_message", "pipeline.subscribe needs a \"runId\" (a UUID)");
    std::string run_id{run->as_string()};
    if (!who_) return send_error(run_id, "unauthorized", "authenticate first: {\"type\":\"auth\"}");
    if (!ctx_->db || !ctx_->progress)
      return send_error(run_id, "unsupported", "this server does not run pipelines");
    {
      std::lock_guard lock(mutex_);
      std::erase_if(watches_, [](const auto& w) { return w.expired(); });
      if (closed_) return;
      if (watches_.size() >= ctx_->options.max_streams)
        return send_error(run_id, "too_many_streams",
                          "at most " + std::to_string(ctx_->options.max_streams) +
                              " runs may be followed at once on one socket");
    }
    auto sent = std::make_shared<std::atomic<bool>>(false);
    run_watch::handlers h;
    h.on_run = [conn = conn_, sent](const json::value& r) {
      sent->store(true);
      return conn->send(json::serialize(json::object{{"type", "pipeline.progress"}, {"run", r}}));
    };
    h.on_idle = [] { return true; };  // the socket has its own keep-alive
    h.on_end = [conn = conn_, sent, run_id] {
      if (!sent->load()) conn->send(error_event(run_id, "not_found", "no such run"));
    };
    auto watch = run_watch::start(*ctx_->io, *ctx_->db, *ctx_->progress, who_->tenant_id, run_id,
                                  std::move(h), std::chrono::seconds(10));
    std::lock_guard lock(mutex_);
    watches_.push_back(watch);
  }

  void handle_cancel(const json::object& msg) {
    auto id = stream_id(msg);
    if (id.empty()) return;
    std::optional<entry> found;
    {
      std::lock_guard lock(mutex_);
      auto it = streams_.find(id);
      if (it != streams_.end()) {
        found = std::move(it->second);
        streams_.erase(it);
      }
    }
    if (!found) return send_error(id, "unknown_id", "no stream with this id is running");
    cancel_entry(*found);
    send_error(id, "cancelled", "the stream was cancelled by the client");
    bool close_now = false;
    {
      std::lock_guard lock(mutex_);
      close_now = draining_ && streams_.empty();
    }
    if (close_now) conn_->close(1001, "server shutting down");
  }

  std::shared_ptr<const ws_chat_context> ctx_;
  std::optional<identity::principal> who_;       ///< strand only
  std::optional<identity::token_digest> token_;  ///< who_'s token; strand only
  std::shared_ptr<net::ws_connection> conn_;     ///< set on open, dropped on close
  bool auth_pending_ = false;        ///< an auth or re-check is out: messages wait; strand only
  std::deque<std::string> backlog_;  ///< strand only

  std::mutex mutex_;  ///< streams_, draining_, closed_: sinks end from actor threads
  std::map<std::string, entry> streams_;
  std::vector<std::weak_ptr<run_watch>> watches_;  ///< followed runs
  bool draining_ = false;
  bool closed_ = false;
};

void ws_stream_sink::end() {
  auto owner = owner_.lock();
  if (owner && owner->finished(id_, this)) conn_->close(1001, "server shutting down");
}

}  // namespace

std::shared_ptr<net::ws_endpoint> make_ws_chat(std::shared_ptr<const ws_chat_context> context,
                                               std::optional<identity::principal> who,
                                               std::optional<identity::token_digest> token) {
  return std::make_shared<ws_chat>(std::move(context), std::move(who), std::move(token));
}

}  // namespace nyxgate::api
