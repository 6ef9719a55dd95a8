// libFuzzer target: request building. The input is used twice: as a raw model name given to
// every provider's request builder, and as a client's body through parse_chat_request and
// the refusal check. No produced URL may leave the provider's base path (no separator, query,
// fragment or dot segment from the model), a model a client got through is one Google's path
// carries as plain text, a client's request makes a valid JSON body, and the key is in
// neither URL nor body. The same body as an embeddings request: OpenAI's and Gemini's requests
// for it are valid JSON on their fixed paths, without the key.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "providers/chat.hpp"
#include "providers/embeddings.hpp"
#include "providers/resolution.hpp"

namespace {

using namespace nyxgate::providers;

constexpr std::string_view base = "https://upstream.test/base";
constexpr std::string_view secret = "sk-fuzz-secret";
constexpr const char* providers[] = {"openai", "anthropic", "google", "kimi"};
bool secret_in_input = false;

bool unreserved(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // the encoder writes upper case only
}

/// Google's model segment as the server reads it: unreserved bytes and %XX escapes only.
std::string decoded_segment(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (unreserved(s[i])) {
      out += s[i];
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      __builtin_trap();  // a raw separator, query, fragment or other reserved byte
    }
  }
  return out;
}

/// The provider's fixed path under `base`; for Google, the model as it came (decoded).
std::string checked_url(std::string_view provider, const std::string& url, bool stream) {
  if (!url.starts_with(base) || url.size() <= base.size() || url[base.size()] != '/')
    __builtin_trap();
  std::string_view path = std::string_view{url}.substr(base.size());
  if (provider != "google") {
    if (path != (provider == "anthropic" ? "/v1/messages" : "/v1/chat/completions"))
      __builtin_trap();
    return {};
  }
  constexpr std::string_view prefix = "/v1beta/models/";
  std::string_view method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
  if (!path.starts_with(prefix) || !path.ends_with(method)) __builtin_trap();
  return decoded_segment(path.substr(prefix.size(), path.size() - prefix.size() - method.size()));
}

/// `whole`: the request came through parse_chat_request, so its body must be valid JSON too
/// (a raw model may be any bytes, invalid UTF-8 included; only its URL is checked).
void check(std::string_view provider, const chat_request& req, std::string_view model, bool whole) {
  auto up = build_upstream_request(provider, base, secret, req, model, 16);
  auto sent_model = checked_url(provider, up.url, req.stream);
  if (provider == "google" && sent_model != model) __builtin_trap();
  if (whole) {
    boost::system::error_code ec;
    auto body = boost::json::parse(up.body, ec);
    if (ec || !body.is_object()) __builtin_trap();
  }
  // The key goes in a header only (unless the input itself carries its text).
  if (!secret_in_input &&
      (up.body.find(secret) != std::string::npos || up.url.find(secret) != std::string::npos))
    __builtin_trap();
}

const chat_request& plain_request(bool stream) {
  static const auto both = [] {
    auto r = std::get<chat_request>(
        parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}]})"));
    std::array<chat_request, 2> out{r, r};
    out[1].stream = true;
    return out;
  }();
  return both[stream ? 1 : 0];
}

/// An embeddings request the client got through: each provider with an embeddings API builds
/// a JSON body on its fixed path, the key in a header only.
void check_embeddings(std::string_view input) {
  auto parsed = parse_embedding_request(input);
  auto* req = std::get_if<embedding_request>(&parsed);
  if (!req) return;
  if (!req->model.empty() && !valid_model_name(req->model)) __builtin_trap();
  if (req->inputs.empty() != req->token_input) __builtin_trap();
  for (std::string_view provider : {"openai", "google"}) {
    std::string_view model =
        provider == "google" ? "gemini-embedding-001" : "text-embedding-3-small";
    auto up = build_embedding_request(provider, base, secret, *req, model);
    std::string_view path = provider == "google"
                                ? "/v1beta/models/gemini-embedding-001:batchEmbedContents"
                                : "/v1/embeddings";
    if (up.url != std::string{base} + std::string{path}) __builtin_trap();
    boost::system::error_code ec;
    auto body = boost::json::parse(up.body, ec);
    if (ec || !body.is_object()) __builtin_trap();
    if (!secret_in_input && up.body.find(secret) != std::string::npos) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  secret_in_input = input.find(secret) != std::string_view::npos;
  for (const char* provider : providers)
    for (bool stream : {false, true}) check(provider, plain_request(stream), input, false);

  check_embeddings(input);

  auto parsed = parse_chat_request(input);
  auto* req = std::get_if<chat_request>(&parsed);
  if (!req) return 0;
  std::string_view model = req->model;
  if (!model.empty() && !valid_model_name(model)) __builtin_trap();
  if (auto slash = model.find('/'); slash != std::string_view::npos)
    model = model.substr(slash + 1);
  // What a client got through never needs an escape, so it can be no dot segment either.
  for (char c : model)
    if (!unreserved(c) && c != ':') __builtin_trap();
  if (model == "." || model == "..") __builtin_trap();
  for (const char* provider : providers) {
    (void)refused_parameter(provider, *req);
    check(provider, *req, model, true);
  }
  return 0;
}
