#pragma once
// The embeddings APIs' shared pieces (providers/embeddings.cpp), for adapter files only.

#include <string>
#include <variant>
#include <vector>

#include "providers/chat.hpp"
#include "providers/detail/json_doc.hpp"

namespace nyxgate::providers::detail {

/// An array of numbers as float32s; false for anything else (an empty array included).
bool read_vector(node v, std::vector<float>& out);

/// OpenAI's POST /v1/embeddings body: the input verbatim, floats asked for (nyxgate encodes
/// base64 itself, so the answer it reads is always the same).
std::string openai_embedding_body(const embedding_request& req, std::string_view model);
/// OpenAI's embeddings list: `data[].embedding` placed by `index`, `usage.prompt_tokens`.
std::variant<embedding_result, std::string> read_openai_embeddings(const std::string& body);

/// Gemini's :batchEmbedContents body: one request per text input.
std::string google_embedding_body(const embedding_request& req, std::string_view model);
/// Gemini's answer: `embeddings[].values`, in request order (it reports no usage).
std::variant<embedding_result, std::string> read_google_embeddings(const std::string& body);

}  // namespace nyxgate::providers::detail
