#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

/// The workflow kinds (docs/workflows.md): what a run's items are, which LLM calls an item
/// makes, and what it produces. Pure: no I/O. The engine (actors/pipeline_actor) feeds an
/// item's answers back into `advance` until it says the item is finished; storage writes the
/// product under the item's lease.
namespace nyxgate::workflows {

enum class kind : std::uint8_t { blog, docs, key_points, translate };

/// "blog", "docs", "keyPoints", "translate": the names of the API and the database.
std::string_view to_string(kind k);
std::optional<kind> kind_from_string(std::string_view name);

/// What templates may name: {{ethics}}, {{project.name}}, {{notes}}, {{doc}}, {{language}}.
struct template_vars {
  std::string ethics;
  std::string project_name;
  std::string notes;     ///< the item's notes as text (blog, docs)
  std::string doc;       ///< the item's doc or section (keyPoints, translate)
  std::string language;  ///< translate
};

/// One chat message of a call the item makes.
struct message {
  std::string role;  ///< system | user | assistant
  std::string content;
};

/// The next LLM call of an item.
struct call_step {
  std::vector<message> messages;
};

/// An item's product: a draft post (blog) or a doc (docs, keyPoints, translate).
struct item_product {
  std::string title;
  std::string body;
  std::optional<std::string> doc_id;         ///< docs: the doc to refresh (absent: a new doc)
  std::vector<std::string> source_note_ids;  ///< blog: the notes the post cites
};

/// What the run carries for every item (pipeline_runs.input): the template text in force when
/// the run was created and the run-wide variables. Read and written as JSON.
struct run_context {
  std::string template_text;
  std::string ethics;
  std::string project_name;
  std::string language;  ///< translate
};
boost::json::value to_json(const run_context& c);
std::optional<run_context> run_context_of(const boost::json::value& v);

/// Decides an item's next step from its input (pipeline_items.input), the run context and the
/// answers its earlier calls got, in order. `context_chars` bounds the material of one call
/// (long docs are split into sections that fit). A call's answer that ended with a `length`
/// finish reason is never passed here: the engine continues it first.
std::variant<call_step, item_product> advance(kind k, const run_context& run,
                                              const boost::json::value& item_input,
                                              std::span<const std::string> answers,
                                              std::size_t context_chars);

/// The call that continues a truncated answer: the step's messages, the partial answer as the
/// assistant's, and a user message asking to continue exactly where it stopped. The item's
/// answer is then the partial answer followed by the continuation.
call_step continuation(const call_step& step, std::string_view partial);

/// Splits a long Markdown text into sections of at most `max_chars` characters, at headings,
/// then paragraphs, then lines; joining them in order gives the text back.
std::vector<std::string> split_sections(std::string_view text, std::size_t max_chars);

}  // namespace nyxgate::workflows
