#include "actors/provider_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "providers/embeddings.hpp"

namespace nyxgate::actors {

bool attempt_link::open(upstream_exchange_ptr stream) {
  {
    std::lock_guard lock(mutex_);
    if (!released_) {
      stream_ = std::move(stream);
      return true;
    }
  }
  stream->cancel();
  return false;
}

upstream_exchange_ptr attempt_link::stream() const {
  std::lock_guard lock(mutex_);
  return stream_;
}

void attempt_link::release(bool cancel) {
  upstream_exchange_ptr stream;
  {
    std::lock_guard lock(mutex_);
    released_ = true;
    stream = std::move(stream_);
  }
  if (cancel && stream) stream->cancel();
}

namespace {

/// Error bodies are read only this far: enough to classify, never a memory sink.
constexpr std::size_t max_error_body = 64 << 10;

/// The translator's step for one event, as a value a container builds its element from in
/// place.
struct translated_step {
  providers::stream_translator& translator;
  const providers::sse_event& event;
  operator providers::stream_step() const { return translator.on_event(event); }
};

/// One attempt's translation state: the exchange's reader, so it runs on the connection's I/O
/// thread, one callback at a time. It also tells the provider's circuit how the attempt went.
struct attempt_run final : upstream_reader {
  attempt_ptr spec;
  std::string provider;
  std::shared_ptr<circuit_breaker> circuit;
  bool probe = false;  ///< the half-open circuit's probe
  std::size_t max_body = 0;
  unsigned status = 0;
  std::string retry_after;
  std::string head_error;
  std::string body;
  bool broken = false;  ///< stopped interpreting (an oversize event)
  providers::sse_parser parser;
  providers::stream_translator translator;

  attempt_run(attempt_ptr s, std::string p, std::shared_ptr<circuit_breaker> c, bool is_probe,
              std::size_t max)
      : spec(std::move(s)),
        provider(p),
        circuit(std::move(c)),
        probe(is_probe),
        max_body(max),
        translator(std::move(p)) {}

  bool ok() const { return status >= 200 && status < 300; }

  void report(upstream_event::kind what, upstream_event ev) {
    send(what, std::make_shared<upstream_event>(std::move(ev)));
  }

  void send(upstream_event::kind what, upstream_event_ptr ev) {
    ev->attempt = spec->attempt;
    ev->what = what;
    caf::anon_send(spec->reply_to, upstream_atom_v, std::move(ev));
  }

  void on_head(const upstream_head& head) override {
    status = head.status;
    if (status == 0) {
      head_error = head.error;
      return;
    }
    retry_after = head.retry_after;
  }

  bool hold() override { return spec->hold && spec->hold(); }

  /// True when the piece carried content. A JSON body (or an error body) is read whole under
  /// the call's deadline, so each of its pieces counts; a stream's piece counts only when an
  /// event in it says something (text, a finish reason, the end, an error), never for SSE
  /// comments, empty role chunks, pings or usage alone.
  bool on_data(std::string_view piece) override {
    if (broken) return false;
    if (!ok()) {
      if (body.size() < max_error_body) body.append(piece.substr(0, max_error_body - body.size()));
      return true;
    }
    if (!spec->request->stream) {
      body.append(piece);
      return true;
    }
    // Built where the request actor reads it, each step in its place: never moved.
    upstream_event_ptr ev;
    bool content = false;
    bool fits = parser.feed(piece, [&](const providers::sse_event& e) {
      if (!ev) ev = std::make_shared<upstream_event>();
      auto& step = ev->steps.emplace_back(translated_step{translator, e});
      content = content || step.has_content();
      if (step.has_content() || step.role_start || step.usage)
        ev->content_bytes += static_cast<std::int64_t>(step.content.size());
      else
        ev->steps.pop_back();
    });
    if (ev && !ev->steps.empty()) {
      if (spec->in_flight && ev->content_bytes > 0) spec->in_flight->fetch_add(ev->content_bytes);
      send(upstream_event::kind::steps, std::move(ev));
    }
    if (!fits) {
      broken = true;
      upstream_event end;
      end.error = "upstream event too large";
      report(upstream_event::kind::ended, std::move(end));
    }
    return content;
  }

  void on_end(const std::string& error) override {
    upstream_event ev;
    if (!ok()) {
      const auto& cause = head_error.empty() ? error : head_error;
      ev.fail = status == 0 ? providers::transport_failure(cause)
                            : providers::classify_failure(provider, status, body, retry_after);
      judge(ev.fail, status == 0 && cause == "cancelled");
      return report(upstream_event::kind::failed, std::move(ev));
    }
    // The provider answered; how a 2xx body ends is the stream's business.
    circuit->succeeded(probe);
    if (broken) return;
    if (spec->request->stream) {
      ev.error = error;
      return report(upstream_event::kind::ended, std::move(ev));
    }
    if (!error.empty()) {
      ev.fail = providers::transport_failure(error);
      return report(upstream_event::kind::failed, std::move(ev));
    }
    const auto& embedding = spec->request->embedding;
    auto parsed = embedding ? providers::parse_embeddings(provider, *embedding, body)
                            : providers::parse_completion(provider, body);
    if (auto* c = std::get_if<providers::chat_completion>(&parsed)) {
      ev.completion = std::move(*c);
      return report(upstream_event::kind::completed, std::move(ev));
    }
    // A 2xx body we cannot read: another try may well succeed.
    ev.fail = providers::transport_failure("unreadable answer");
    ev.fail.status = status;
    report(upstream_event::kind::failed, std::move(ev));
  }

  /// The circuit's verdict on a failed attempt: retryable failures count against the provider,
  /// any answer it gave (a key or client error) for it. A cancelled attempt says nothing, and
  /// neither does a 429: it is one key's rate limit, and one tenant's limit must not shut the
  /// provider for every tenant.
  void judge(const providers::failure& fail, bool cancelled) {
    if (cancelled || fail.status == 429)
      circuit->undecided(probe);
    else if (fail.kind == providers::failure_kind::retryable)
      circuit->failed(probe);
    else
      circuit->succeeded(probe);
  }
};

/// An attempt the open circuit refuses: reported as failed at once, nothing sent.
void refuse(const attempt_spec& spec) {
  auto ev = std::make_shared<upstream_event>();
  ev->attempt = spec.attempt;
  ev->what = upstream_event::kind::failed;
  // Nothing reached the provider and the key was not judged: the chain moves on at once.
  ev->fail.kind = providers::failure_kind::local_error;
  ev->fail.reason = "circuit_open";
  caf::anon_send(spec.reply_to, upstream_atom_v, std::move(ev));
}

struct provider_state {
  provider_endpoint endpoint;
  static inline const char* name = "provider";
};

provider_actor::behavior_type provider_fun(provider_actor::stateful_pointer<provider_state> self,
                                           provider_endpoint endpoint) {
  self->state.endpoint = std::move(endpoint);
  return {
      [self](attempt_atom, const attempt_ptr& spec) {
        const auto& ep = self->state.endpoint;
        auto admission = ep.circuit->admit();
        if (admission == circuit_breaker::admission::refuse) return refuse(*spec);
        const auto& req = *spec->request;
        auto up = req.embedding
                      ? providers::build_embedding_request(ep.provider, ep.base_url, spec->secret,
                                                           *req.embedding, spec->model)
                      : providers::build_upstream_request(ep.provider, ep.base_url, spec->secret,
                                                          req, spec->model, spec->max_tokens);
        upstream_call call;
        call.url = std::move(up.url);
        call.headers = std::move(up.headers);
        call.body = std::move(up.body);
        call.timeout = spec->head_timeout;
        call.deadline = spec->deadline;
        call.idle_timeout = spec->idle_timeout;
        call.max_response_bytes = ep.max_response_bytes;
        auto run = std::make_shared<attempt_run>(spec, ep.provider, ep.circuit,
                                                 admission == circuit_breaker::admission::probe,
                                                 ep.max_response_bytes);
        auto stream = ep.pool->open(std::move(call), std::move(run));
        if (spec->link->open(stream) && spec->opened) spec->opened(stream);
      },
  };
}

}  // namespace

provider_actor spawn_provider_actor(caf::actor_system& sys, provider_endpoint endpoint) {
  if (!endpoint.circuit)
    endpoint.circuit = std::make_shared<circuit_breaker>(0, circuit_breaker::clock::duration{});
  return sys.spawn(provider_fun, std::move(endpoint));
}

void provider_directory::stop_all() {
  for (auto& [_, per_shard] : actors_)
    for (auto& [shard, a] : per_shard) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

}  // namespace nyxgate::actors
