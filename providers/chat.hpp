#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

/// The OpenAI chat shape and its translation to and from each provider's wire format
/// (SPEC §4), as pure functions: no sockets, no actors, testable from recorded payloads.
namespace nyxgate::providers {

// -- the client's request -------------------------------------------------------------

/// An image a user message carries (`image_url` content part, docs/chat-parameters.md
/// "Images"). Exactly one of `url` and `data` is set.
struct image_part {
  std::string url;         ///< an https URL, as sent ("" for a data: URL)
  std::string media_type;  ///< image/png | image/jpeg | image/gif | image/webp; a data: URL's own,
                           ///< an https URL's guessed from its path ("" when it cannot be told)
  std::string data;        ///< the base64 payload of a data: URL, as sent (not decoded)
  std::string detail;      ///< auto | low | high; "" when the client gave none
};

/// One content part of a message that holds an image, in the order sent.
struct content_part {
  enum class kind : std::uint8_t { text, image };
  kind type = kind::text;
  std::string text;  ///< kind::text
  image_part image;  ///< kind::image
};

/// A tool call of the model: in an assistant message the client sends back, and in answers.
struct tool_call {
  std::string id;         ///< the provider's id, or one nyxgate made (Google has none)
  std::string name;       ///< the function's name
  std::string arguments;  ///< JSON text, as OpenAI's `function.arguments` carries it
  bool operator==(const tool_call&) const = default;
};

struct chat_message {
  std::string role;  ///< system | developer | user | assistant | tool
  /// Text content: every text part joined with "\n". The whole content of a message without
  /// images; with images, `parts` holds the order.
  std::string content;
  std::string name;  ///< optional
  /// Set only when the content holds an image part: every part (text ones too), in order.
  std::vector<content_part> parts{};
  std::vector<tool_call> tool_calls{};  ///< assistant: the calls it made (may come with no content)
  std::string tool_call_id{};           ///< tool: the call this message answers
};

/// A function tool the model may call (`tools[]`, type "function").
struct tool_definition {
  std::string name;         ///< 1 to 64 of a-z A-Z 0-9 _ -
  std::string description;  ///< "" when absent
  std::string parameters;   ///< the JSON Schema object as JSON text; "" when absent
  std::optional<bool> strict;
};

/// `tool_choice`.
struct tool_choice {
  enum class mode : std::uint8_t { unset, automatic, none, required, function };
  mode how = mode::unset;
  std::string function;  ///< mode::function: the one tool the model must call
};

/// `response_format`.
struct response_format {
  enum class kind : std::uint8_t { text, json_object, json_schema };
  kind type = kind::text;
  std::string name;         ///< json_schema.name
  std::string description;  ///< json_schema.description, "" when absent
  std::string schema;       ///< json_schema.schema as JSON text
  bool strict = false;      ///< json_schema.strict
};

/// Request fields whose handling depends on the provider that serves the call: each is
/// forwarded, translated or refused per provider (docs/chat-parameters.md).
enum class chat_param : std::uint8_t {
  frequency_penalty,
  logit_bias,
  metadata,
  prediction,
  presence_penalty,
  prompt_cache_key,
  prompt_cache_retention,
  reasoning_effort,
  response_format,
  safety_identifier,
  seed,
  service_tier,
  store,
  user,
  verbosity,
  message_name,         ///< `name` on any message
  tools,                ///< `tools` (non-empty)
  tool_choice,          ///< `tool_choice` other than "auto"
  parallel_tool_calls,  ///< `parallel_tool_calls: false`
  image_part,           ///< an `image_url` content part in any message
  tool_message,         ///< a `tool` message or an assistant message with `tool_calls`
  other,                ///< a top-level field OpenAI's reference does not list: `where` names it
};

enum class param_handling : std::uint8_t { forwarded, translated, refused };

/// How `provider` takes `p`.
param_handling handling(chat_param p, std::string_view provider);

/// A provider-dependent field the client sent with a value that asks for something.
struct provider_param {
  chat_param id;
  std::string where;  ///< its name in an error: "seed", "messages[2].name"; `other`: its key
  /// Its value as JSON, forwarded verbatim (empty for the message-level ids: message_name,
  /// image_part, tool_message).
  std::string json;
};

struct embedding_request;

struct chat_request {
  std::string model;  ///< as the client sent it ("" when omitted)
  std::vector<chat_message> messages;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::vector<std::string> stop;           ///< "stop": string or array of up to 4 strings
  std::optional<std::int64_t> max_tokens;  ///< max_tokens or max_completion_tokens
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage
  /// In the order of the body; usually empty. Each kind appears once (messages: the first).
  std::vector<provider_param> provider_params;
  /// Also in `provider_params` (forwarded verbatim to OpenAI and Kimi); read here by the
  /// adapters that translate them.
  std::vector<tool_definition> tools;
  tool_choice choice;
  std::optional<bool> parallel_tool_calls;
  response_format format;
  /// Set: this is an embeddings call (POST /v1/embeddings), `messages` is empty and the
  /// adapters' embedding functions serve it.
  std::shared_ptr<const embedding_request> embedding;

  const provider_param* param(chat_param id) const;
};

/// A problem with the client's request: answered 400 in OpenAI's error shape.
struct request_error {
  std::string message;
  std::string param;  ///< the offending field ("messages[2].content"), may be empty
  std::string code = "invalid_request";  ///< invalid_model | unsupported_parameter | ...
};

/// Parses and validates a /v1/chat/completions body in one pass over its fields. Every field
/// of OpenAI's request is read: the ones no provider takes through nyxgate (audio, file
/// parts, ...) are refused here (`unsupported_parameter`), unknown fields below the top level
/// too (`unknown_parameter`); provider-dependent ones (unknown top-level fields among them, as
/// `chat_param::other`) land in `provider_params` for `refused_parameter`; tools, tool
/// messages, images and response_format are also read into the request's structure. A value that
/// asks for the default (`n: 1`, `logprobs: false`, penalties of 0, ...) changes nothing and is
/// accepted. Wrong types, missing or empty `messages`, bad roles, a model that is no
/// `valid_model_name`, out-of-range temperature (0..2) / top_p (0..1) / max_tokens (>= 1) are
/// errors.
std::variant<chat_request, request_error> parse_chat_request(std::string_view body);

/// The first field of `req` that `provider` refuses, as the 400 naming it and the provider:
/// first by `handling`, then by what the adapter finds in the values (`chat_adapter::refuse`:
/// a schema keyword Google cannot take, an image type, ...).
std::optional<request_error> refused_parameter(std::string_view provider, const chat_request& req);

/// Appends `segment` to a URL path, percent-encoding every byte but RFC 3986's unreserved
/// ones. The caller keeps the segment from being empty, "." or ".." (the same path however
/// encoded).
void append_path_segment(std::string& url, std::string_view segment);

// -- the upstream call ----------------------------------------------------------------

struct upstream_request {
  std::string url;                                           ///< absolute
  std::vector<std::pair<std::string, std::string>> headers;  ///< includes auth + content-type
  std::string body;
};

/// The provider's own request for `req` on `model` with `api_key`. `base_url` has no trailing
/// slash requirement. openai and kimi: POST {base}/v1/chat/completions (Bearer). anthropic:
/// POST {base}/v1/messages (x-api-key, anthropic-version: 2023-06-01; system messages go to
/// `system`; max_tokens always set). google: POST
/// {base}/v1beta/models/{model}:generateContent or :streamGenerateContent?alt=sse, the model
/// percent-encoded (x-goog-api-key; systemInstruction, contents with roles user/model,
/// generationConfig). `provider_params` go as `handling` says; checking `refused_parameter`
/// first is the caller's job. `max_tokens` is the effective value (the request's, else the
/// tenant default).
upstream_request build_upstream_request(std::string_view provider, std::string_view base_url,
                                        std::string_view api_key, const chat_request& req,
                                        std::string_view model, std::int64_t max_tokens);

// -- answers --------------------------------------------------------------------------

struct token_usage {
  std::int64_t prompt_tokens = 0;      ///< cached ones included, as OpenAI counts
  std::int64_t completion_tokens = 0;  ///< reasoning ones included, as OpenAI counts
  std::int64_t cached_tokens = 0;      ///< prompt_tokens_details.cached_tokens
  std::int64_t reasoning_tokens = 0;   ///< completion_tokens_details.reasoning_tokens
};

struct embedding_result;

/// A complete, translated answer.
struct chat_completion {
  std::string content;
  std::string finish_reason;  ///< stop | length | content_filter | tool_calls
  token_usage usage;
  std::string upstream_id;              ///< the provider's id, for logs only
  std::vector<tool_call> tool_calls{};  ///< in the answer's order
  /// An embeddings call's answer (then content and tool_calls are empty).
  std::shared_ptr<const embedding_result> embedding{};
};

/// Parses a provider's 2xx non-stream body. Error: a 2xx body we cannot understand.
std::variant<chat_completion, std::string> parse_completion(std::string_view provider,
                                                            const std::string& body);

/// OpenAI's `chat.completion` JSON for `c`: `message.tool_calls` when it has any (content null
/// when it has no text), usage with prompt_tokens_details.cached_tokens and
/// completion_tokens_details.reasoning_tokens.
std::string render_completion(const chat_completion& c, std::string_view id, std::string_view model,
                              std::int64_t created);

// -- failures -------------------------------------------------------------------------

enum class failure_kind {
  retryable,     ///< 429 rate limit, 500, 502, 503, 504, 529, timeout, connection failure
  key_invalid,   ///< 401, 403, Google 400 API_KEY_INVALID: key → invalid
  key_quota,     ///< 402, OpenAI 429 insufficient_quota, Anthropic 400 credit balance: cooldown
  client_error,  ///< any other 4xx: returned to the client, no failover
  local_error,   ///< the request could not be built or written; nothing reached the provider
};

struct failure {
  failure_kind kind = failure_kind::retryable;
  unsigned status = 0;  ///< upstream HTTP status; 0 for transport failures
  std::string reason;   ///< short, safe to show and log (never the key, never raw body)
  std::string message;  ///< the provider's error message (for client_error replies)
  std::string type;     ///< OpenAI error type for client_error ("invalid_request_error")
  std::optional<std::int64_t> retry_after_ms;  ///< from Retry-After (seconds or HTTP date)
};

/// Classifies a non-2xx answer. `retry_after` is the Retry-After header value ("" if none).
failure classify_failure(std::string_view provider, unsigned status, std::string_view body,
                         std::string_view retry_after);
/// A transport failure (timeout, refused, TLS, reset): retryable, unless the HTTPS client
/// could not build the request ("request: …", "url: …"): then a local error.
failure transport_failure(std::string_view what);

// -- streaming ------------------------------------------------------------------------

/// One server-sent event.
struct sse_event {
  std::string event;  ///< "" when the event had no `event:` field
  std::string data;   ///< `data:` lines joined with "\n"
  std::string id;
};

/// Incremental SSE parser (WHATWG rules): events split across reads, CRLF/LF/CR line ends,
/// multi-line data, comments (":" lines), a leading BOM. Bounded: an event larger than
/// `max_event_bytes` is an error.
class sse_parser {
 public:
  explicit sse_parser(std::size_t max_event_bytes = 1 << 20);
  /// Feeds bytes; appends every completed event to `out`. False on overflow (then stop).
  bool feed(std::string_view bytes, std::vector<sse_event>& out);
  /// Feeds bytes; hands every completed event to `on_event`, valid during that call only
  /// (the parser reuses its buffers: no allocation per event). False on overflow (then stop).
  bool feed(std::string_view bytes, const std::function<void(const sse_event&)>& on_event);

 private:
  std::string line_;
  sse_event current_;
  bool has_data_ = false;
  bool seen_bom_check_ = false;
  bool last_was_cr_ = false;
  std::size_t max_event_bytes_;
  std::size_t event_bytes_ = 0;
  void dispatch_line(std::string_view line, const std::function<void(const sse_event&)>& emit);
};

/// A piece of a streamed tool call, OpenAI's `delta.tool_calls[]` entry: the first piece of
/// a call has its id and name (arguments usually ""), later ones only argument fragments.
struct tool_call_delta {
  int index = 0;          ///< the call's position in the answer, from 0
  std::string id;         ///< first piece only
  std::string name;       ///< first piece only
  std::string arguments;  ///< a fragment of the JSON text
  bool operator==(const tool_call_delta&) const = default;
};

/// What one upstream stream event means for the client.
struct stream_step {
  std::string content;                        ///< text delta ("" for none)
  std::vector<tool_call_delta> tool_calls{};  ///< tool call pieces, in order
  bool role_start = false;                    ///< the first event: emit the assistant role chunk
  std::string finish_reason;                  ///< set once, when the provider says why it stopped
  std::optional<token_usage> usage;           ///< set when the provider reports usage
  bool done = false;                          ///< the provider's end of stream
  std::optional<failure> error;               ///< an error event inside the stream

  /// Says something the client will see: text, a finish reason, the end or an error. Only
  /// such a step commits a stream or restarts its idle clock; a role start, usage alone, an
  /// SSE comment or a ping never does.
  bool has_content() const {
    return !content.empty() || !tool_calls.empty() || !finish_reason.empty() || done || error;
  }
};

/// What a stream remembers between its events.
struct stream_state {
  token_usage usage;
  bool started = false;
  int tool_calls = 0;  ///< tool calls begun so far: the next call's index
  /// Anthropic: content block index -> tool call index (-1: a text block; -2: the structured
  /// output tool, whose input is the answer's content).
  std::vector<int> block_tool;
  std::string response_id;  ///< Google: the response's id, which its generated call ids use

  /// True once: the first event of a stream starts the assistant's turn.
  bool start() { return !std::exchange(started, true); }
};

class chat_adapter;

/// Translates a provider's stream events (openai/kimi chunks, anthropic message_* and
/// content_block_* events, google GenerateContentResponse objects) into steps through the
/// provider's adapter. One per stream.
class stream_translator {
 public:
  explicit stream_translator(std::string_view provider);
  /// Interprets one event. Malformed JSON in an event yields a step with `error` set.
  stream_step on_event(const sse_event& e);

 private:
  const chat_adapter* adapter_;
  stream_state state_;
};

/// OpenAI `chat.completion.chunk` JSON (without the "data: " framing) for a delta. The
/// `tool_calls` overloads add `delta.tool_calls` (index, and id/type/function.name on a call's
/// first piece, function.arguments always) when the span is not empty.
/// `role_start` adds `"role":"assistant"`; `finish_reason` empty renders null.
std::string render_chunk(std::string_view id, std::string_view model, std::int64_t created,
                         std::string_view content, bool role_start, std::string_view finish_reason);
/// `render_chunk` into `out` (cleared first; its capacity is reused).
void render_chunk_to(std::string& out, std::string_view id, std::string_view model,
                     std::int64_t created, std::string_view content, bool role_start,
                     std::string_view finish_reason);
/// What every chunk of one stream starts with (`{"id":…,"object":…,"created":…,"model":…`): a
/// stream renders it once and each chunk after it (`render_chunk_with_head`).
std::string render_chunk_head(std::string_view id, std::string_view model, std::int64_t created);
/// `render_chunk_to` from the stream's `render_chunk_head`.
void render_chunk_with_head(std::string& out, std::string_view head, std::string_view content,
                            bool role_start, std::string_view finish_reason);
/// `render_chunk_with_head` appended to `out` (a batch of events renders into one string).
void append_chunk_with_head(std::string& out, std::string_view head, std::string_view content,
                            bool role_start, std::string_view finish_reason,
                            std::span<const tool_call_delta> tool_calls = {});
/// The final usage chunk (`choices: []`, `usage: {...}` with prompt_tokens_details and
/// completion_tokens_details, as render_completion) for stream_options.include_usage.
std::string render_usage_chunk(std::string_view id, std::string_view model, std::int64_t created,
                               const token_usage& usage);

// -- embeddings (POST /v1/embeddings) ----------------------------------------------------

/// The client's embeddings request (docs/embeddings.md).
struct embedding_request {
  std::string model;                ///< as the client sent it
  std::vector<std::string> inputs;  ///< text inputs, in order (a string input is one)
  /// The input as sent (a string, strings, token arrays), forwarded verbatim to OpenAI;
  /// token-array inputs go to OpenAI only.
  std::string input_json;
  bool token_input = false;  ///< `input` holds token arrays: refused by every provider but OpenAI
  bool base64 = false;       ///< encoding_format "base64" (else "float")
  std::optional<std::int64_t> dimensions;
  std::string user;  ///< "" when absent
};

/// Parses and validates a /v1/embeddings body: `input` required (a non-empty string, up to
/// 2,048 strings, or token arrays), `model` optional ("auto" like chat), `encoding_format`
/// float | base64, `dimensions` >= 1, `user` a string; any other field is `unknown_parameter`.
std::variant<embedding_request, request_error> parse_embedding_request(std::string_view body);

/// An embeddings answer: one vector per input, in input order.
struct embedding_result {
  std::vector<std::vector<float>> vectors;
  token_usage usage;  ///< prompt_tokens only
};

/// OpenAI's embeddings list JSON (`object: "list"`, `data[].embedding` as floats or as the
/// base64 of little-endian float32s, `model`, `usage`).
std::string render_embeddings(const embedding_result& r, std::string_view model, bool base64);

}  // namespace nyxgate::providers
