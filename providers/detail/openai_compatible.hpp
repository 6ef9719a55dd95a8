#pragma once
// The OpenAI chat API, as OpenAI and the providers that copy it (Kimi) speak it; each of them
// is this adapter with its own dialect (providers/openai.cpp, providers/kimi.cpp).

#include <string_view>

#include "providers/adapter.hpp"

namespace nyxgate::providers::detail {

/// Where an OpenAI-compatible provider departs from OpenAI.
struct openai_dialect {
  std::string_view id;
  /// The field that caps the answer's length.
  std::string_view max_tokens_field;
  /// The provider knows no "developer" role: such messages go as "system".
  bool developer_as_system = false;
  param_handling (*handling)(chat_param) = nullptr;
  /// The model of an embeddings call with model "auto"; "" for a provider whose embeddings
  /// nyxgate does not serve.
  std::string_view embedding_model = {};
};

class openai_compatible final : public provider_adapter {
 public:
  explicit constexpr openai_compatible(openai_dialect d) : dialect_(d) {}

  param_handling handling(chat_param p) const override { return dialect_.handling(p); }
  upstream_request build_request(std::string_view base_url, std::string_view api_key,
                                 const chat_request& req, std::string_view model,
                                 std::int64_t max_tokens) const override;
  std::variant<chat_completion, std::string> parse_completion(
      const std::string& body) const override;
  stream_step on_event(stream_state& s, const sse_event& e) const override;

  probe_request request(std::string_view base_url, std::string_view secret) const override;

  std::string_view default_embedding_model() const override { return dialect_.embedding_model; }
  upstream_request build_embedding_request(std::string_view base_url, std::string_view api_key,
                                           const embedding_request& req,
                                           std::string_view model) const override;
  std::variant<embedding_result, std::string> parse_embeddings(
      const std::string& body) const override;

 private:
  std::string body(const chat_request& req, std::string_view model, std::int64_t max_tokens) const;

  openai_dialect dialect_;
};

}  // namespace nyxgate::providers::detail
