#include "actors/request_actor.hpp"

#include <algorithm>
#include <atomic>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/provider_actor.hpp"
#include "actors/tenant_actor.hpp"
#include "providers/embeddings.hpp"
#include "storage/usage_recorder.hpp"
#include "telemetry/log.hpp"
#include "telemetry/metrics.hpp"

namespace nyxgate::actors {

namespace {

using steady = std::chrono::steady_clock;
using storage::usage_status;

double jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::int64_t micros(steady::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

/// Counts a call as live from its spawn until its actor's state is gone (cheaper than an
/// attached functor: no allocation, no lock).
struct live_call {
  std::shared_ptr<std::atomic<std::int64_t>> count;
  ~live_call() {
    if (count) count->fetch_sub(1);
  }
};

struct request_state {
  live_call live;
  std::shared_ptr<const gateway_services> services;
  chat_call call;
  chain_answer_ptr chain;
  tenant_actor tenant;

  // -- walking the chain ---------------------------------------------------------------
  std::size_t element = 0;  ///< index into the chain's elements
  int tries = 0;            ///< tries of the current element so far
  std::uint32_t attempt = 0;
  std::shared_ptr<attempt_link> link;  ///< the current attempt's exchange; null between attempts
  std::vector<attempt_record> attempts;
  steady::time_point attempt_started;
  steady::time_point deadline;
  std::int64_t upstream_us = 0;  ///< time spent waiting for providers and in backoff
  bool waiting_upstream = false;
  bool attempt_open = false;  ///< the current attempt may still report; false once settled
  bool client_gone = false;

  // -- the answer ------------------------------------------------------------------------
  bool committed = false;
  bool finished = false;  ///< the answer is complete or abandoned
  std::shared_ptr<std::atomic<bool>> paused = std::make_shared<std::atomic<bool>>(false);
  /// Content bytes the current attempt reported and this actor has not handled yet.
  std::shared_ptr<std::atomic<std::int64_t>> in_flight;
  std::string finish_reason;
  providers::token_usage usage;
  /// Content of the upstream event being handled, not yet handed to the sink (its capacity
  /// is reused from event to event).
  std::vector<content_delta> deltas;
  std::int64_t delivered_bytes = 0;  ///< content handed to the client

  static inline const char* name = "request";

  /// The current attempt's exchange once open, else null.
  upstream_exchange_ptr upstream() const { return link ? link->stream() : nullptr; }
  /// Done with the current attempt: `cancel` stops an exchange that still runs.
  void release_attempt(bool cancel) {
    if (link) link->release(cancel);
    link.reset();
  }

  bool has_element() const { return chain && element < chain->chain.elements.size(); }
  const providers::chain_element& current() const { return chain->chain.elements[element]; }
  const providers::chat_request& request() const { return *call.request; }
};

using request_pointer = request_actor::stateful_pointer<request_state>;

/// Stops counting the current attempt's wait as upstream time.
void upstream_answered(request_state& st) {
  if (!st.waiting_upstream) return;
  st.waiting_upstream = false;
  st.upstream_us += micros(steady::now() - st.attempt_started);
}

actors::served_by served(const request_state& st) {
  actors::served_by who;
  who.overhead_us =
      std::max<std::int64_t>(0, micros(steady::now() - st.call.received_at) - st.upstream_us);
  who.attempts = static_cast<int>(st.attempts.size()) + (st.committed ? 1 : 0);
  if (st.has_element()) {
    const auto& el = st.current();
    who.provider = el.provider;
    who.model = el.model;
    who.key_scope = std::string{el.scope()};
    // SPEC §3: not the tenant's primary in an `auto` chain, even when the primary had no key.
    who.fallback = el.via_fallback;
  }
  return who;
}

void record_usage(request_state& st, usage_status status) {
  if (!st.services->usage) return;
  // The call's last use of its ids: they move into the row.
  storage::usage_event e;
  e.tenant_id = std::move(st.call.tenant_id);
  e.user_id = std::move(st.call.user_id);
  e.request_id = std::move(st.call.request_id);
  e.run_id = std::move(st.call.run_id);
  e.item_id = std::move(st.call.item_id);
  e.model = st.request().model;
  if (st.has_element()) {
    const auto& el = st.current();
    e.provider = el.provider;
    e.model = el.model;
    e.key_id = el.key->id;
    e.key_scope = std::string{el.scope()};
    e.fallback = el.via_fallback;
  }
  e.status = status;
  e.prompt_tokens = st.usage.prompt_tokens;
  e.completion_tokens = st.usage.completion_tokens;
  e.cached_tokens = st.usage.cached_tokens;
  e.reasoning_tokens = st.usage.reasoning_tokens;
  e.operation = st.request().embedding ? storage::usage_operation::embeddings
                                       : storage::usage_operation::chat;
  e.latency_ms = micros(steady::now() - st.call.received_at) / 1000;
  st.services->usage->record(std::move(e));
}

/// Ends the actor once nothing more can happen: the answer went out (or the client left).
void end_call(request_pointer self, usage_status status) {
  auto& st = self->state;
  // A finished exchange reads its last bytes and goes back to the pool; anything else closes.
  st.release_attempt(status != usage_status::ok);
  st.attempt_open = false;
  record_usage(st, status);
  st.finished = true;
  self->quit();
}

/// The call ends without its answer: the sink says why (before the commit, as the answer).
void answer_failure(request_pointer self, call_failure f,
                    usage_status status = usage_status::error) {
  auto& st = self->state;
  f.who = served(st);
  f.attempts = std::move(st.attempts);
  st.call.sink->failed(f);
  end_call(self, status);
}

call_failure failure(call_error error, unsigned status, std::string message) {
  call_failure f;
  f.error = error;
  f.status = status;
  f.message = std::move(message);
  return f;
}

call_failure deadline_passed(std::string message) {
  return failure(call_error::upstream_timeout, 504, std::move(message));
}

// -- streaming to the client ---------------------------------------------------------------

/// Content waits in `deltas` until the upstream event that produced it is handled, then goes
/// to the sink together (one write for a read's worth of deltas, not one each).
void add_delta(request_state& st, std::string_view content, bool role_start,
               std::string_view finish_reason,
               std::span<const providers::tool_call_delta> tool_calls = {}) {
  st.deltas.push_back(content_delta{content, role_start, finish_reason, tool_calls});
  st.delivered_bytes += static_cast<std::int64_t>(content.size());
  for (const auto& t : tool_calls)
    st.delivered_bytes += static_cast<std::int64_t>(t.arguments.size());
}

void flush_content(request_pointer self) {
  auto& st = self->state;
  if (st.deltas.empty()) return;
  bool open = st.call.sink->content(st.deltas);
  st.deltas.clear();
  if (!open) return;  // the stop follows
  if (st.call.sink->queued_bytes() <= st.services->options.max_queued_bytes) return;
  if (auto up = st.upstream(); up && !st.paused->exchange(true)) up->pause();
}

void commit_stream(request_pointer self) {
  auto& st = self->state;
  upstream_answered(st);
  st.committed = true;
  auto handle = caf::actor_cast<request_actor>(self);
  st.call.sink->on_drained([handle, paused = st.paused] {
    if (paused->load()) caf::anon_send(handle, drained_atom_v);
  });
  st.call.sink->committed(served(st));
  add_delta(st, "", true, "");
}

void complete_stream(request_pointer self) {
  auto& st = self->state;
  if (st.finish_reason.empty()) st.finish_reason = "stop";
  add_delta(st, "", false, st.finish_reason);
  flush_content(self);
  st.call.sink->done(call_result{st.finish_reason, st.usage, nullptr});
  end_call(self, usage_status::ok);
}

/// Tokens in `bytes` of text at about four bytes a token (OpenAI's rule of thumb), rounded up.
std::int64_t estimated_tokens(std::int64_t bytes) {
  return (bytes + 3) / 4;
}

/// Providers report usage at the end of a stream, so a cut one is counted from what reached
/// the client (and the prompt from the request, when the provider said nothing yet).
void count_delivered(request_state& st) {
  st.usage.completion_tokens =
      std::max(st.usage.completion_tokens, estimated_tokens(st.delivered_bytes));
  if (st.usage.prompt_tokens > 0) return;
  std::int64_t prompt_bytes = 0;
  for (const auto& m : st.request().messages) {
    prompt_bytes += static_cast<std::int64_t>(m.content.size());
    for (const auto& call : m.tool_calls)
      prompt_bytes += static_cast<std::int64_t>(call.arguments.size());
  }
  st.usage.prompt_tokens = estimated_tokens(prompt_bytes);
}

/// After the commit nothing can fail over: the client gets an error event and no [DONE].
void break_stream(request_pointer self, std::string_view reason) {
  auto& st = self->state;
  telemetry::metrics().calls_truncated.inc();
  count_delivered(st);
  telemetry::log_warn("stream broke after commit", {{"request_id", st.call.request_id},
                                                    {"provider", st.current().provider},
                                                    {"reason", reason}});
  flush_content(self);
  answer_failure(self,
                 failure(call_error::stream_interrupted, 502,
                         "the upstream stream broke: " + std::string{reason}),
                 usage_status::truncated);
}

// -- walking the chain ---------------------------------------------------------------------

void start_attempt(request_pointer self);

void exhausted(request_pointer self) {
  auto& st = self->state;
  if (st.chain && !st.chain->chain.elements.empty())
    st.element = st.chain->chain.elements.size() - 1;
  // SPEC §3: the deadline passed first (the last attempt ran into it): 504, not 502.
  if (steady::now() >= st.deadline)
    return answer_failure(self, deadline_passed("no provider answered within the call's deadline"));
  answer_failure(self, failure(call_error::upstream_failed, 502,
                               "every provider attempt failed; see error.attempts"));
}

void next_element(request_pointer self) {
  auto& st = self->state;
  ++st.element;
  st.tries = 0;
  if (!st.has_element()) return exhausted(self);
  telemetry::metrics().failovers.inc();
  start_attempt(self);
}

void on_failure(request_pointer self, const providers::failure& f) {
  auto& st = self->state;
  upstream_answered(st);
  st.attempt_open = false;
  st.release_attempt(true);  // never leave a half-read exchange behind
  const auto& el = st.current();
  st.attempts.push_back(attempt_record{el.provider, std::string{el.scope()}, f.status, f.reason});
  auto d = providers::decide(f, st.tries, st.services->options.retry, jitter());
  if (d.key.status) {
    telemetry::metrics().key_failures.inc();
    caf::anon_send(st.tenant, key_health_atom_v, el.key->id, *d.key.status, d.key.reason,
                   st.services->options.key_cooldown_s);
  }
  switch (d.step) {
    case providers::next_step::answer_client: {
      auto status = f.status >= 400 && f.status < 500 ? f.status : 400u;
      auto rejected = failure(call_error::upstream_rejected, status,
                              f.message.empty() ? "the provider rejected the request" : f.message);
      rejected.type = f.type;
      return answer_failure(self, std::move(rejected));
    }
    case providers::next_step::retry_same:
      if (steady::now() + std::chrono::milliseconds(d.delay_ms) < st.deadline) {
        telemetry::metrics().upstream_retries.inc();
        st.upstream_us += d.delay_ms * 1000;
        self->delayed_send(self, std::chrono::milliseconds(d.delay_ms), retry_atom_v, st.attempt);
        return;
      }
      return next_element(self);
    case providers::next_step::next_element:
      return next_element(self);
  }
}

void start_attempt(request_pointer self) {
  auto& st = self->state;
  const auto& el = st.current();
  const auto* provider = st.services->providers->find(el.provider, st.call.home);
  // Rounded up: the exchange also gets the deadline itself, which then ends it exactly.
  auto remaining = std::chrono::ceil<std::chrono::milliseconds>(st.deadline - steady::now());
  if (!provider || remaining.count() <= 0) {
    st.attempts.push_back(attempt_record{el.provider, std::string{el.scope()}, 0,
                                         provider ? "deadline" : "provider not configured"});
    return provider ? answer_failure(self, deadline_passed("the call's deadline passed"))
                    : next_element(self);
  }
  ++st.tries;
  ++st.attempt;
  telemetry::metrics().upstream_attempts.inc();
  auto spec = std::make_shared<attempt_spec>();
  spec->attempt = st.attempt;
  spec->model = el.model;
  spec->secret = el.key->secret;
  spec->request = st.call.request;
  spec->max_tokens = st.request().max_tokens.value_or(st.chain->max_tokens);
  spec->head_timeout = remaining;
  spec->deadline = st.deadline;
  spec->idle_timeout = st.services->options.idle_timeout;
  spec->reply_to = caf::actor_cast<request_actor>(self);
  st.link = std::make_shared<attempt_link>();
  spec->link = st.link;
  if (st.request().stream) {
    // Before each upstream read: hold it while the client is behind (its queue plus what is
    // on its way to this actor). The drained callback resumes.
    st.in_flight = std::make_shared<std::atomic<std::int64_t>>(0);
    spec->in_flight = st.in_flight;
    spec->hold = [sink = st.call.sink, paused = st.paused, in_flight = st.in_flight,
                  bound = static_cast<std::int64_t>(st.services->options.max_queued_bytes)] {
      if (static_cast<std::int64_t>(sink->queued_bytes()) + in_flight->load() <= bound)
        return false;
      paused->store(true);
      return true;
    };
    // Held before this actor could see the exchange, with nothing queued: no drained
    // callback will come, so the opening resumes it.
    spec->opened = [sink = st.call.sink, paused = st.paused](const upstream_exchange_ptr& up) {
      if (sink->queued_bytes() == 0 && paused->exchange(false)) up->resume();
    };
  }
  st.attempt_started = steady::now();
  st.waiting_upstream = true;
  st.attempt_open = true;
  self->send(*provider, attempt_atom_v, attempt_ptr{std::move(spec)});
}

void on_steps(request_pointer self, upstream_event& ev) {
  auto& st = self->state;
  for (auto& step : ev.steps) {
    if (st.finished) return;
    if (step.error) {
      if (!st.committed) return on_failure(self, *step.error);
      return break_stream(self, step.error->reason);
    }
    if (step.usage) st.usage = *step.usage;
    if (!step.finish_reason.empty()) st.finish_reason = step.finish_reason;
    bool content = !step.content.empty() || !step.tool_calls.empty();
    if (!st.committed && (content || step.done || !step.finish_reason.empty())) commit_stream(self);
    if (content) add_delta(st, step.content, false, "", step.tool_calls);
    if (step.done) return complete_stream(self);
  }
  flush_content(self);
}

/// The call's deadline is checked when something happens, not by a timer per call (a timer
/// on CAF's clock costs a thread wake-up per call): every wait of the attempt's exchange ends
/// by the deadline, so an event (at worst the exchange's timeout) always comes by then.
bool past_deadline(request_pointer self) {
  auto& st = self->state;
  if (steady::now() < st.deadline) return false;
  if (st.committed) {
    break_stream(self, "the call's deadline passed");
    return true;
  }
  if (st.has_element())
    st.attempts.push_back(
        attempt_record{st.current().provider, std::string{st.current().scope()}, 0, "timeout"});
  answer_failure(self, deadline_passed("no provider answered within the call's deadline"));
  return true;
}

void on_upstream(request_pointer self, upstream_event& ev) {
  auto& st = self->state;
  // A settled, cancelled or superseded attempt has nothing more to say.
  if (st.finished || !st.attempt_open || ev.attempt != st.attempt) return;
  if (past_deadline(self)) return;
  switch (ev.what) {
    case upstream_event::kind::failed:
      return on_failure(self, ev.fail);
    case upstream_event::kind::steps: {
      if (st.in_flight) st.in_flight->fetch_sub(ev.content_bytes);
      on_steps(self, ev);
      // Held for what was on its way here, with nothing left to write: no drained callback
      // will come, so resume now.
      if (!st.finished && st.call.sink->queued_bytes() == 0)
        if (auto up = st.upstream(); up && st.paused->exchange(false)) up->resume();
      return;
    }
    case upstream_event::kind::ended:
      st.release_attempt(false);
      if (st.committed) {
        // Google's stream simply ends; an OpenAI-shaped one without [DONE] ends the same way.
        if (ev.error.empty()) return complete_stream(self);
        return break_stream(self, ev.error);
      }
      return on_failure(self, providers::transport_failure(
                                  ev.error.empty() ? "stream ended before any content" : ev.error));
    case upstream_event::kind::completed: {
      upstream_answered(st);
      st.release_attempt(false);
      st.committed = true;
      st.usage = ev.completion.usage;
      st.call.sink->committed(served(st));
      st.call.sink->done(call_result{ev.completion.finish_reason, st.usage, &ev.completion});
      return end_call(self, usage_status::ok);
    }
  }
}

/// A field one of the chain's providers cannot take (docs/chat-parameters.md): refused before
/// anything goes upstream, whichever provider would have served.
std::optional<providers::request_error> refused_parameter(const providers::chain& chain,
                                                          const providers::chat_request& req) {
  if (req.provider_params.empty()) return std::nullopt;
  for (const auto& el : chain.elements)
    if (auto e = providers::refused_parameter(el.provider, req)) return e;
  return std::nullopt;
}

/// The chain the call walks: an embeddings call's is made from the chat chain its model
/// resolved to (providers::embedding_chain); a chat call's is that chain.
std::variant<chain_answer_ptr, providers::request_error> call_chain(const request_state& st,
                                                                    chain_answer_ptr answer) {
  const auto& embedding = st.request().embedding;
  if (!embedding || answer->chain.error || answer->chain.elements.empty()) return answer;
  auto chain = providers::embedding_chain(answer->chain, *embedding);
  if (auto* e = std::get_if<providers::request_error>(&chain)) return std::move(*e);
  // The key records stay in the snapshot the copy keeps alive.
  auto out = std::make_shared<chain_answer>(*answer);
  out->chain = std::get<providers::chain>(std::move(chain));
  return chain_answer_ptr{std::move(out)};
}

call_failure invalid_request(providers::request_error e) {
  auto bad = failure(call_error::invalid_request, 400, std::move(e.message));
  bad.code = std::move(e.code);
  bad.param = std::move(e.param);
  return bad;
}

request_actor::behavior_type request_behavior(request_pointer self);

request_actor::behavior_type request_fun(request_pointer self,
                                         std::shared_ptr<const gateway_services> services,
                                         chat_call call) {
  auto& st = self->state;
  st.live.count = services->live_calls;
  st.live.count->fetch_add(1);
  st.services = std::move(services);
  st.call = std::move(call);
  st.deadline = st.call.received_at + st.services->options.call_timeout;
  auto tenant = st.services->tenants->lookup(st.call.tenant_id);
  st.tenant = tenant.actor;
  auto handle = caf::actor_cast<request_actor>(self);
  st.call.sink->on_stop([handle](call_stop why) { caf::anon_send(handle, gone_atom_v, why); });
  resolve_query q{st.call.user_id, "", st.request().model};
  // The tenant actor's published snapshot answers without a message round trip. Only a chain
  // the call can start on at once is taken here: every other outcome (an error answer ends
  // the actor, which it may not do before its behavior exists) asks the actor below.
  if (auto snap = tenant.published->load()) {
    auto chosen = call_chain(st, chain_for(snap, q));
    auto* answer = std::get_if<chain_answer_ptr>(&chosen);
    if (answer && !(*answer)->chain.error && !(*answer)->chain.elements.empty() &&
        st.services->providers->find((*answer)->chain.elements.front().provider) &&
        !refused_parameter((*answer)->chain, st.request()) &&
        steady::now() + std::chrono::milliseconds(1) < st.deadline) {
      st.chain = std::move(*answer);
      start_attempt(self);
      return request_behavior(self);
    }
  }
  // No timeout (a timeout would cost a clock wake-up per call): the tenant actor answers from
  // memory, or after a load bounded by the database timeouts; a dead one answers with an error.
  self->request(st.tenant, caf::infinite, chain_atom_v, std::move(q))
      .then(
          [self](chain_answer_ptr& answer) {
            auto& st = self->state;
            if (st.finished) return;
            st.chain = std::move(answer);
            if (const auto& e = st.chain->chain.error) {
              auto bad = failure(call_error::invalid_request, 400, e->message);
              bad.code = e->code;
              return answer_failure(self, std::move(bad));
            }
            if (st.chain->chain.elements.empty())
              return answer_failure(self, failure(call_error::no_provider_key, 400,
                                                  "no usable provider key for this model: add a "
                                                  "personal key or ask an admin for a tenant key"));
            auto chosen = call_chain(st, std::move(st.chain));
            if (auto* e = std::get_if<providers::request_error>(&chosen))
              return answer_failure(self, invalid_request(std::move(*e)));
            st.chain = std::get<chain_answer_ptr>(std::move(chosen));
            if (auto e = refused_parameter(st.chain->chain, st.request()))
              return answer_failure(self, invalid_request(std::move(*e)));
            start_attempt(self);
          },
          [self](caf::error&) {
            // tenant_errc::keys_unavailable, or the tenant actor is gone.
            if (self->state.finished) return;
            answer_failure(self, failure(call_error::keys_unavailable, 503,
                                         "provider keys are unavailable right now; retry shortly"));
          });
  return request_behavior(self);
}

request_actor::behavior_type request_behavior(request_pointer self) {
  return {
      [self](upstream_atom, upstream_event_ptr& ev) { on_upstream(self, *ev); },
      [self](retry_atom, std::uint32_t attempt) {
        auto& st = self->state;
        if (st.finished || attempt != st.attempt) return;
        start_attempt(self);
      },
      [self](gone_atom, call_stop why) {
        auto& st = self->state;
        if (st.finished) return;
        if (why == call_stop::server_stopping) {
          // The shutdown grace is over; the client is still there for a last word.
          if (st.committed) return break_stream(self, "the server is shutting down");
          return answer_failure(self,
                                failure(call_error::server_shutting_down, 503,
                                        "the server is shutting down; retry shortly"),
                                usage_status::cancelled);
        }
        telemetry::metrics().calls_cancelled.inc();
        st.client_gone = true;
        end_call(self, usage_status::cancelled);
      },
      [self](drained_atom) {
        auto& st = self->state;
        if (auto up = st.upstream(); up && st.paused->exchange(false)) up->resume();
      },
  };
}

}  // namespace

void spawn_request_actor(caf::actor_system& sys, std::shared_ptr<const gateway_services> services,
                         chat_call call) {
  sys.spawn(request_fun, std::move(services), std::move(call));
}

}  // namespace nyxgate::actors
