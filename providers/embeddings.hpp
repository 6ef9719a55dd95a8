#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "providers/chat.hpp"
#include "providers/resolution.hpp"

/// An embeddings call (POST /v1/embeddings, docs/embeddings.md) through the providers that
/// have an embeddings API, as pure functions next to the chat ones.
namespace nyxgate::providers {

/// The chain an embeddings call walks, from the chat chain `c` the model resolved to. `model`
/// "auto", "default" or "": every element's model becomes its provider's default embedding
/// model, and the elements of providers without an embeddings API are left out (none left: a
/// 400 naming `model`). A named model keeps its element when the provider has an embeddings
/// API. Token-array input goes only where the provider takes it (a 400 naming `input`).
std::variant<chain, request_error> embedding_chain(const chain& c, const embedding_request& req);

/// The embeddings request of `provider` for `req` on `model` (the adapter's
/// `build_embedding_request`).
upstream_request build_embedding_request(std::string_view provider, std::string_view base_url,
                                         std::string_view api_key, const embedding_request& req,
                                         std::string_view model);

/// A 2xx embeddings body of `provider`, as a completion whose `embedding` is set and whose
/// usage is the answer's (prompt tokens estimated at four bytes a token when the provider
/// reports none). Error: a body we cannot understand, or a vector count other than the
/// input count.
std::variant<chat_completion, std::string> parse_embeddings(std::string_view provider,
                                                            const embedding_request& req,
                                                            const std::string& body);

/// Standard base64 (with padding) of `bytes`.
std::string base64_encode(std::string_view bytes);

}  // namespace nyxgate::providers
