// Embeddings (POST /v1/embeddings, docs/embeddings.md): the client's request, the answer in
// OpenAI's shape, the chain of providers that can serve, and the wire pieces the OpenAI and
// Gemini adapters share.
#include "providers/embeddings.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>

#include "providers/adapter.hpp"
#include "providers/chat_json.hpp"
#include "providers/detail/embedding_wire.hpp"
#include "providers/detail/json_doc.hpp"
#include "providers/detail/request_fields.hpp"
#include "providers/detail/wire.hpp"
#include "providers/registry.hpp"

namespace nyxgate::providers {

using namespace std::string_view_literals;
using detail::node;

namespace {

/// OpenAI's limit on the inputs of one request.
constexpr std::size_t max_inputs = 2048;

bool token_id(node v) {
  if (v.is(detail::dom::element_type::UINT64)) return true;
  return v.is(detail::dom::element_type::INT64) && v.value.get_int64().value_unsafe() >= 0;
}

/// A token array: at least one token id.
bool token_array(node v) {
  bool any = false;
  bool all = true;
  detail::each(v, [&](node t) {
    any = true;
    all = all && token_id(t);
  });
  return any && all;
}

std::optional<request_error> read_input(node input, embedding_request& req) {
  auto bad = [](std::string message) { return request_error{std::move(message), "input"}; };
  if (!input || input.is_null()) return bad("input is required");
  req.input_json = simdjson::to_string(input.value);
  if (input.is_string()) {
    auto text = detail::str(input);
    if (text.empty()) return bad("input must not be an empty string");
    req.inputs.emplace_back(text);
    return std::nullopt;
  }
  if (!input.is_array())
    return bad("input must be a string, an array of strings or an array of token arrays");
  auto head = detail::first(input);
  if (!head) return bad("input must hold at least one item");
  if (token_id(head)) {
    if (!token_array(input))
      return bad("input: a token array holds only token ids (integers >= 0)");
    req.token_input = true;
    return std::nullopt;
  }
  std::size_t count = 0;
  std::optional<request_error> error;
  bool tokens = head.is_array();
  detail::each(input, [&](node item) {
    if (error) return;
    auto where = "input[" + std::to_string(count++) + "]";
    if (count > max_inputs) {
      error = bad("input must hold at most 2048 items");
    } else if (tokens) {
      if (!token_array(item))
        error = bad(where + " must be a non-empty array of token ids (integers >= 0)");
    } else if (!item.is_string()) {
      error = bad(where + " must be a string (all items of input have one type)");
    } else if (detail::str(item).empty()) {
      error = bad(where + " must not be an empty string");
    } else {
      req.inputs.emplace_back(detail::str(item));
    }
  });
  req.token_input = tokens;
  return error;
}

void append_float(std::string& out, float f) {
  if (!std::isfinite(f)) f = 0;  // JSON has no NaN or infinity
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);  // shortest round-trip form
  out.append(buf, ec == std::errc{} ? static_cast<std::size_t>(end - buf) : 0);
}

/// The base64 of the vector as little-endian float32s, OpenAI's `encoding_format: base64`.
void append_base64_vector(std::string& out, const std::vector<float>& v) {
  std::string bytes;
  bytes.reserve(v.size() * 4);
  for (float f : v) {
    auto bits = std::bit_cast<std::uint32_t>(f);
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((bits >> (8 * i)) & 0xff);
  }
  out += '"';
  out += base64_encode(bytes);
  out += '"';
}

}  // namespace

std::variant<embedding_request, request_error> parse_embedding_request(std::string_view body) {
  detail::parsed_json doc(body);
  if (!doc.ok)
    return request_error{
        std::string{"the body is not valid JSON: "} + simdjson::error_message(doc.error), ""};
  if (!doc.value.is_object()) return request_error{"the body must be a JSON object", ""};
  std::optional<std::string_view> unknown;
  auto [model, input, encoding, dimensions, user] = detail::pick_all<5>(
      doc.value, {"model", "input", "encoding_format", "dimensions", "user"}, unknown);
  if (unknown) return detail::unknown_parameter(std::string{*unknown});
  embedding_request req;
  if (auto e = detail::read_model(model, req.model)) return *e;
  if (auto e = read_input(input, req)) return *e;
  if (encoding && !encoding.is_null()) {
    auto format = detail::str(encoding);
    if (format != "float" && format != "base64")
      return request_error{"encoding_format must be \"float\" or \"base64\"", "encoding_format"};
    req.base64 = format == "base64";
  }
  if (dimensions && !dimensions.is_null()) {
    if (!token_id(dimensions) || detail::num(dimensions) < 1)
      return request_error{"dimensions must be an integer >= 1", "dimensions"};
    req.dimensions = detail::num(dimensions);
  }
  if (user && !user.is_null()) {
    if (!user.is_string()) return request_error{"user must be a string", "user"};
    req.user = std::string{detail::str(user)};
  }
  return req;
}

std::string render_embeddings(const embedding_result& r, std::string_view model, bool base64) {
  std::size_t size = model.size() + 128;
  for (const auto& v : r.vectors) size += 48 + v.size() * (base64 ? 6 : 14);
  std::string out;
  out.reserve(size);
  out.append(R"({"object":"list","data":[)"sv);
  for (std::size_t i = 0; i < r.vectors.size(); ++i) {
    if (i > 0) out += ',';
    out.append(R"({"object":"embedding","index":)"sv);
    detail::append_int(out, static_cast<std::int64_t>(i));
    out.append(R"(,"embedding":)"sv);
    if (base64) {
      append_base64_vector(out, r.vectors[i]);
    } else {
      out += '[';
      for (std::size_t j = 0; j < r.vectors[i].size(); ++j) {
        if (j > 0) out += ',';
        append_float(out, r.vectors[i][j]);
      }
      out += ']';
    }
    out += '}';
  }
  out.append(R"(],"model":)"sv);
  append_json_string(out, model);
  detail::append_int(out.append(R"(,"usage":{"prompt_tokens":)"sv), r.usage.prompt_tokens);
  detail::append_int(out.append(R"(,"total_tokens":)"sv), r.usage.prompt_tokens);
  out.append("}}"sv);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&bytes](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    auto n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(n >> shift) & 63];
  }
  if (auto rest = bytes.size() - i; rest > 0) {
    auto n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::variant<chain, request_error> embedding_chain(const chain& c, const embedding_request& req) {
  bool pick_default = req.model.empty() || req.model == "auto" || req.model == "default";
  chain out;
  std::string without;  ///< the chain's providers that have no embeddings API
  for (const auto& el : c.elements) {
    auto model = chat_of(el.provider).default_embedding_model();
    if (model.empty()) {
      if (without.find(el.provider) == std::string::npos)
        without.append(without.empty() ? "" : ", ").append(el.provider);
      continue;
    }
    // OpenAI's is the one embeddings API that takes token ids.
    if (req.token_input && el.provider != "openai")
      return request_error{
          "input as token arrays is not supported by provider " + el.provider + "; send text",
          "input", "unsupported_parameter"};
    out.elements.push_back(el);
    if (pick_default) out.elements.back().model = std::string{model};
  }
  if (out.elements.empty() && !c.elements.empty())
    return request_error{"embeddings are not supported by provider " + without +
                             "; name a model of a provider with an embeddings API (openai, "
                             "google)",
                         "model", "unsupported_parameter"};
  return out;
}

upstream_request build_embedding_request(std::string_view provider, std::string_view base_url,
                                         std::string_view api_key, const embedding_request& req,
                                         std::string_view model) {
  return chat_of(provider).build_embedding_request(base_url, api_key, req, model);
}

std::variant<chat_completion, std::string> parse_embeddings(std::string_view provider,
                                                            const embedding_request& req,
                                                            const std::string& body) {
  auto parsed = chat_of(provider).parse_embeddings(body);
  if (auto* e = std::get_if<std::string>(&parsed)) return std::move(*e);
  auto& r = std::get<embedding_result>(parsed);
  if (!req.token_input && r.vectors.size() != req.inputs.size())
    return std::string{"the answer holds another number of vectors than inputs"};
  if (r.usage.prompt_tokens <= 0) {
    std::int64_t bytes = 0;
    for (const auto& text : req.inputs) bytes += static_cast<std::int64_t>(text.size());
    r.usage.prompt_tokens = (bytes + 3) / 4;
  }
  r.usage.completion_tokens = 0;
  chat_completion c;
  c.finish_reason = "stop";
  c.usage = r.usage;
  c.embedding = std::make_shared<const embedding_result>(std::move(r));
  return c;
}

namespace detail {

bool read_vector(node v, std::vector<float>& out) {
  out.clear();
  bool numbers = true;
  bool array = each(v, [&](node x) {
    double d = 0;
    if (!numbers || x.value.get_double().get(d) != simdjson::SUCCESS) {
      // get_double converts integers too; anything else is no number.
      numbers = false;
      return;
    }
    out.push_back(static_cast<float>(d));
  });
  return array && numbers && !out.empty();
}

std::string openai_embedding_body(const embedding_request& req, std::string_view model) {
  std::string out;
  out.reserve(req.input_json.size() + model.size() + req.user.size() + 96);
  out.append(R"({"model":)"sv);
  append_json_string(out, model);
  out.append(R"(,"input":)"sv).append(req.input_json);
  out.append(R"(,"encoding_format":"float")"sv);
  if (req.dimensions) append_int(out.append(R"(,"dimensions":)"sv), *req.dimensions);
  if (!req.user.empty()) {
    out.append(R"(,"user":)"sv);
    append_json_string(out, req.user);
  }
  out += '}';
  return out;
}

std::variant<embedding_result, std::string> read_openai_embeddings(const std::string& body) {
  parsed_json doc(body);
  if (!doc.ok || !doc.value.is_object()) return std::string{"the answer is not a JSON object"};
  auto [data, usage] = pick<2>(doc.value, {"data", "usage"});
  embedding_result r;
  std::vector<bool> seen;
  std::optional<std::string> error;
  std::size_t position = 0;
  bool array = each(data, [&](node item) {
    if (error) return;
    auto [embedding, index] = pick<2>(item, {"embedding", "index"});
    auto at_index = index ? static_cast<std::size_t>(num(index)) : position;
    ++position;
    if (at_index >= max_inputs) {
      error = "an embedding's index is out of range";
      return;
    }
    if (at_index >= r.vectors.size()) {
      r.vectors.resize(at_index + 1);
      seen.resize(at_index + 1);
    }
    if (seen[at_index] || !read_vector(embedding, r.vectors[at_index])) {
      error = "an embedding is not an array of numbers";
      return;
    }
    seen[at_index] = true;
  });
  if (!array) return std::string{"the answer has no data"};
  if (error) return std::move(*error);
  for (bool s : seen)
    if (!s) return std::string{"the answer misses an embedding"};
  r.usage.prompt_tokens = num(at(usage, "prompt_tokens"));
  return r;
}

std::string google_embedding_body(const embedding_request& req, std::string_view model) {
  std::string name = "models/";
  name += model;
  std::string out;
  std::size_t size = 32;
  for (const auto& text : req.inputs) size += text.size() + name.size() + 96;
  out.reserve(size);
  out.append(R"({"requests":[)"sv);
  for (std::size_t i = 0; i < req.inputs.size(); ++i) {
    out.append(i == 0 ? R"({"model":)"sv : R"(,{"model":)"sv);
    append_json_string(out, name);
    out.append(R"(,"content":{"parts":[{"text":)"sv);
    append_json_string(out, req.inputs[i]);
    out.append("}]}"sv);
    if (req.dimensions) append_int(out.append(R"(,"outputDimensionality":)"sv), *req.dimensions);
    out += '}';
  }
  out.append("]}"sv);
  return out;
}

std::variant<embedding_result, std::string> read_google_embeddings(const std::string& body) {
  parsed_json doc(body);
  if (!doc.ok || !doc.value.is_object()) return std::string{"the answer is not a JSON object"};
  embedding_result r;
  bool ok = true;
  bool array = each(at(doc.value, "embeddings"), [&](node item) {
    if (!ok) return;
    r.vectors.emplace_back();
    ok = read_vector(at(item, "values"), r.vectors.back());
  });
  if (!array) return std::string{"the answer has no embeddings"};
  if (!ok) return std::string{"an embedding is not an array of numbers"};
  return r;
}

}  // namespace detail

}  // namespace nyxgate::providers
