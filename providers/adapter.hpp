#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "providers/chat.hpp"
#include "providers/probe.hpp"

/// What a provider's adapter implements (docs/providers.md). Adapters are stateless, one
/// instance per provider, found through the registry; a stream keeps its own `stream_state`.
namespace nyxgate::providers {

/// The translation of one provider's chat API to and from OpenAI's shape (SPEC §4).
class chat_adapter {
 public:
  virtual ~chat_adapter() = default;

  /// How this provider takes a provider-dependent request field.
  virtual param_handling handling(chat_param p) const = 0;
  /// The provider's request for `req` (see build_upstream_request).
  virtual upstream_request build_request(std::string_view base_url, std::string_view api_key,
                                         const chat_request& req, std::string_view model,
                                         std::int64_t max_tokens) const = 0;
  /// A 2xx non-stream body; error: a body we cannot understand. An empty finish reason is
  /// taken as "stop".
  virtual std::variant<chat_completion, std::string> parse_completion(
      const std::string& body) const = 0;
  /// One stream event.
  virtual stream_step on_event(stream_state& s, const sse_event& e) const = 0;

  /// A field `handling` lets through whose value this provider still cannot honour (a schema
  /// keyword, an image type, a tool_choice mode): the 400 naming it. Checked with
  /// `refused_parameter` for every element of a call's chain before anything goes upstream.
  virtual std::optional<request_error> refuse(const chat_request& req) const {
    static_cast<void>(req);
    return std::nullopt;
  }

  // -- embeddings: a provider without an embeddings API keeps these defaults --------------

  /// The model an embeddings call with model "auto" (or none) gets; "" for no embeddings API.
  virtual std::string_view default_embedding_model() const { return {}; }
  /// The provider's embeddings request for `req` on `model`.
  virtual upstream_request build_embedding_request(std::string_view base_url,
                                                   std::string_view api_key,
                                                   const embedding_request& req,
                                                   std::string_view model) const {
    static_cast<void>(base_url), static_cast<void>(api_key), static_cast<void>(req),
        static_cast<void>(model);
    return {};
  }
  /// A 2xx embeddings body; error: a body we cannot understand.
  virtual std::variant<embedding_result, std::string> parse_embeddings(
      const std::string& body) const {
    static_cast<void>(body);
    return std::string{"this provider has no embeddings API"};
  }

  /// An error message that means the key's balance is spent (a quota failure, not a client
  /// error), beyond the error codes every provider shares.
  virtual bool says_quota(std::string_view message) const {
    static_cast<void>(message);
    return false;
  }
  /// The OpenAI error type a client error of this provider gets.
  virtual std::string client_error_type(std::string_view type) const {
    return type.empty() || type == "error" ? std::string{"invalid_request_error"}
                                           : std::string{type};
  }
};

/// The cheapest authenticated call of a provider (apiKeys.test) and its provider-specific
/// verdicts; the rules all providers share are in classify_probe.
class key_prober {
 public:
  virtual ~key_prober() = default;
  virtual probe_request request(std::string_view base_url, std::string_view secret) const = 0;
  /// A 400 answer that says something about the key, or nullopt.
  virtual std::optional<probe_verdict> on_bad_request(std::string_view body) const {
    static_cast<void>(body);
    return std::nullopt;
  }
};

/// A chat provider's adapter: its chat API and its key probe.
class provider_adapter : public chat_adapter, public key_prober {};

// The adapters, one file each.
const provider_adapter& openai_adapter();
const provider_adapter& anthropic_adapter();
const provider_adapter& google_adapter();
const provider_adapter& kimi_adapter();
const key_prober& github_prober();

}  // namespace nyxgate::providers
