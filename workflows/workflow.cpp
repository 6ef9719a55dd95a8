#include "workflows/workflow.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "workflows/templates.hpp"

namespace nyxgate::workflows {

namespace {

constexpr std::array<std::pair<kind, std::string_view>, 4> kind_names{{
    {kind::blog, "blog"},
    {kind::docs, "docs"},
    {kind::key_points, "keyPoints"},
    {kind::translate, "translate"},
}};

/// The database's bound on a title (docs, posts), in characters.
constexpr std::size_t max_title_chars = 300;

/// A UTF-8 code point is at most four bytes: a smaller bound could not cut at a boundary.
constexpr std::size_t min_section_bytes = 4;

constexpr std::string_view continue_prompt =
    "Continue exactly where you stopped, without repeating anything.";

constexpr std::string_view merge_prompt =
    "The texts below are the key points of consecutive parts of one document, in order. "
    "Merge them into the key points of the whole document: keep every distinct point once, "
    "join points that say the same thing, keep the document's order, and answer in Markdown "
    "with the key points only.";

bool continuation_byte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U;
}

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

/// At most `max_chars` code points of `s`, never cutting one in two.
std::string clamp_chars(std::string_view s, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (continuation_byte(s[i])) continue;
    if (chars == max_chars) return std::string{trim(s.substr(0, i))};
    ++chars;
  }
  return std::string{s};
}

/// The lines of `text`, each with its '\n' (the last one may have none).
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto len = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(0, len));
    text.remove_prefix(len);
  }
  return out;
}

/// An ATX heading: up to three spaces, one to six '#', then a space or the line's end.
bool heading_line(std::string_view line) {
  std::size_t i = 0;
  while (i < 3 && i < line.size() && line[i] == ' ') ++i;
  std::size_t hashes = 0;
  while (i < line.size() && line[i] == '#') ++i, ++hashes;
  return hashes >= 1 && hashes <= 6 && (i == line.size() || space(line[i]));
}

/// A code fence line (``` or ~~~): Markdown inside a fence is code, never a boundary.
bool fence_line(std::string_view line) {
  std::size_t i = 0;
  while (i < 3 && i < line.size() && line[i] == ' ') ++i;
  auto rest = line.substr(i);
  return rest.starts_with("```") || rest.starts_with("~~~");
}

bool blank_line(std::string_view line) {
  return trim(line).empty();
}

/// How `split_sections` cuts a text that does not fit, coarsest first.
enum class boundary : std::uint8_t { heading, paragraph, line, code_point };

/// `text` cut at every boundary of one kind; the pieces joined give `text` back.
std::vector<std::string_view> pieces_of(std::string_view text, boundary b, std::size_t max_bytes) {
  std::vector<std::string_view> out;
  if (b == boundary::code_point) {
    while (text.size() > max_bytes) {
      auto cut = max_bytes;
      while (cut > 0 && continuation_byte(text[cut])) --cut;
      if (cut == 0) cut = max_bytes;  // not UTF-8: any cut keeps the bytes
      out.push_back(text.substr(0, cut));
      text.remove_prefix(cut);
    }
    if (!text.empty()) out.push_back(text);
    return out;
  }
  std::size_t start = 0;
  std::size_t pos = 0;
  bool in_fence = false;
  bool after_blank = false;
  for (auto line : lines_of(text)) {
    bool starts_piece = false;
    if (fence_line(line)) {
      starts_piece =
          !in_fence && (b == boundary::line || (b == boundary::paragraph && after_blank));
      in_fence = !in_fence;
    } else if (b == boundary::line) {
      starts_piece = true;
    } else if (!in_fence) {
      starts_piece = b == boundary::heading ? heading_line(line) : after_blank && !blank_line(line);
    }
    if (starts_piece && pos > start) {
      out.push_back(text.substr(start, pos - start));
      start = pos;
    }
    after_blank = !in_fence && blank_line(line);
    pos += line.size();
  }
  if (pos > start) out.push_back(text.substr(start, pos - start));
  return out;
}

boundary finer(boundary b) {
  return static_cast<boundary>(static_cast<std::uint8_t>(b) + 1);
}

/// Packs the pieces of `text` at boundary `b` greedily into sections of at most `max_bytes`;
/// a piece that is too long alone is cut at the next finer boundary.
void split_into(std::string_view text, boundary b, std::size_t max_bytes,
                std::vector<std::string>& out) {
  std::string current;
  for (auto piece : pieces_of(text, b, max_bytes)) {
    if (piece.size() > max_bytes) {
      if (!current.empty()) out.push_back(std::exchange(current, {}));
      split_into(piece, finer(b), max_bytes, out);
    } else if (current.size() + piece.size() > max_bytes) {
      out.push_back(std::exchange(current, std::string{piece}));
    } else {
      current += piece;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
}

/// The material of an item, read leniently: a missing or mistyped field is empty material
/// (docs/workflows.md, "Kinds in detail"), so a malformed input never stops the engine.
struct note {
  std::string id;
  std::string title;
  std::string body;
};
struct material {
  std::vector<note> notes;
  std::optional<std::string> doc_id;
  std::string title;
  std::string doc;
};

std::string string_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string{v->get_string()};
}

material material_of(const boost::json::value& input) {
  material m;
  const auto* o = input.if_object();
  if (o == nullptr) return m;
  if (const auto* notes = o->if_contains("notes"); notes != nullptr && notes->is_array()) {
    for (const auto& n : notes->get_array()) {
      const auto* no = n.if_object();
      if (no == nullptr) continue;
      note read{string_field(*no, "id"), string_field(*no, "title"), string_field(*no, "body")};
      if (!read.title.empty() || !read.body.empty()) m.notes.push_back(std::move(read));
    }
  }
  if (auto id = string_field(*o, "docId"); !id.empty()) m.doc_id = std::move(id);
  m.title = string_field(*o, "title");
  m.doc = string_field(*o, "doc");
  return m;
}

/// The notes as the {{notes}} text: each note's title as a heading, then its body, in order.
std::string notes_text(const std::vector<note>& notes) {
  std::string out;
  for (const auto& n : notes) {
    if (!out.empty()) out += "\n\n";
    out += "## ";
    out += n.title;
    out += "\n\n";
    out += trim(n.body);
  }
  return out;
}

/// Every call: the ethics text as a system message when set, then the user's prompt.
call_step call_of(const run_context& run, std::string user) {
  call_step step;
  if (!run.ethics.empty()) step.messages.push_back({"system", run.ethics});
  step.messages.push_back({"user", std::move(user)});
  return step;
}

call_step template_call(const run_context& run, std::string notes, std::string doc) {
  template_vars vars{run.ethics, run.project_name, std::move(notes), std::move(doc), run.language};
  return call_of(run, render_template(run.template_text, vars));
}

/// The text of a heading line without its '#' marks (and closing ones).
std::string_view heading_text(std::string_view line) {
  line = trim(line);
  while (!line.empty() && line.front() == '#') line.remove_prefix(1);
  line = trim(line);
  while (!line.empty() && line.back() == '#') line.remove_suffix(1);
  return trim(line);
}

/// The first non-blank line is the title: an ATX heading's text, a setext heading's, or the
/// line itself without emphasis marks; the rest is the body.
std::pair<std::string, std::string> title_and_body(std::string_view answer) {
  auto lines = lines_of(answer);
  std::size_t i = 0;
  while (i < lines.size() && blank_line(lines[i])) ++i;
  if (i == lines.size()) return {};
  std::string_view title = heading_line(lines[i]) ? heading_text(lines[i]) : trim(lines[i]);
  std::size_t rest = i + 1;
  if (rest < lines.size()) {
    auto underline = trim(lines[rest]);
    if (!underline.empty() && (underline.find_first_not_of('=') == std::string_view::npos ||
                               underline.find_first_not_of('-') == std::string_view::npos))
      ++rest;
  }
  while (title.size() >= 2 && (title.front() == '*' || title.front() == '_') &&
         title.back() == title.front()) {
    title.remove_prefix(1);
    title.remove_suffix(1);
  }
  std::string body;
  for (; rest < lines.size(); ++rest) body += lines[rest];
  return {std::string{trim(title)}, std::string{trim(body)}};
}

/// A title the database accepts: 1 to 300 characters, `fallback` when nothing is left.
std::string fitting_title(std::string_view title, std::string_view fallback) {
  auto t = clamp_chars(trim(title), max_title_chars);
  if (t.empty()) t = clamp_chars(trim(fallback), max_title_chars);
  return t.empty() ? std::string{"Untitled"} : t;
}

std::variant<call_step, item_product> advance_notes(kind k, const run_context& run,
                                                    const material& m,
                                                    std::span<const std::string> answers) {
  if (answers.empty()) return template_call(run, notes_text(m.notes), m.doc);
  auto [title, body] = title_and_body(answers.front());
  item_product p;
  p.title = fitting_title(title, m.notes.empty() ? m.title : m.notes.front().title);
  p.body = std::move(body);
  if (k == kind::blog) {
    for (const auto& n : m.notes)
      if (!n.id.empty() && std::find(p.source_note_ids.begin(), p.source_note_ids.end(), n.id) ==
                               p.source_note_ids.end())
        p.source_note_ids.push_back(n.id);
  } else {
    p.doc_id = m.doc_id;
  }
  return p;
}

std::string merge_prompt_over(std::span<const std::string_view> partials) {
  std::string out{merge_prompt};
  for (std::size_t i = 0; i < partials.size(); ++i) {
    out += "\n\n--- Part ";
    out += std::to_string(i + 1);
    out += " ---\n\n";
    out += trim(partials[i]);
  }
  return out;
}

/// keyPoints' merges over the sections' answers (the first `sections` of `answers`; the merges'
/// answers follow in order): one call when the partial results fit `context_chars` together,
/// else neighbours merged in groups that fit (two at least), level by level, until one text is
/// left. Answers the next merge call, or the final text.
std::variant<call_step, std::string> merged(const run_context& run,
                                            std::span<const std::string> answers,
                                            std::size_t sections, std::size_t context_chars) {
  std::vector<std::string_view> level(answers.begin(),
                                      answers.begin() + static_cast<std::ptrdiff_t>(sections));
  std::size_t next_answer = sections;
  while (level.size() > 1) {
    std::vector<std::string_view> up;
    for (std::size_t first = 0; first < level.size();) {
      std::size_t end = first + 1;
      std::size_t size = trim(level[first]).size();
      while (end < level.size() &&
             (end - first < 2 || size + trim(level[end]).size() <= context_chars))
        size += trim(level[end++]).size();
      if (end - first == 1) {
        up.push_back(level[first]);
      } else if (next_answer < answers.size()) {
        up.push_back(answers[next_answer++]);
      } else {
        auto group = std::span<const std::string_view>{level}.subspan(first, end - first);
        return call_of(run, merge_prompt_over(group));
      }
      first = end;
    }
    level = std::move(up);
  }
  return std::string{level.empty() ? std::string_view{} : trim(level.front())};
}

/// A section's translation with the section's own leading and trailing white space, so the
/// joined sections keep the document's paragraph and heading breaks.
std::string in_place(std::string_view section, std::string_view answer) {
  auto core = trim(section);
  if (core.empty()) return std::string{section};
  auto lead = section.substr(0, static_cast<std::size_t>(core.data() - section.data()));
  auto tail = section.substr(lead.size() + core.size());
  std::string out{lead};
  out += trim(answer);
  out += tail;
  return out;
}

/// keyPoints and translate: one call per section of the doc, then for keyPoints the merges
/// when there was more than one section.
std::variant<call_step, item_product> advance_sections(kind k, const run_context& run,
                                                       const material& m,
                                                       std::span<const std::string> answers,
                                                       std::size_t context_chars) {
  auto sections = split_sections(m.doc, context_chars);
  if (answers.size() < sections.size())
    return template_call(run, {}, std::move(sections[answers.size()]));
  item_product p;
  if (k == kind::translate) {
    auto title = trim(m.title).empty() ? std::string{"Translation"} : m.title;
    p.title = fitting_title(title + " (" + run.language + ")", title);
    for (std::size_t i = 0; i < sections.size(); ++i) p.body += in_place(sections[i], answers[i]);
    return p;
  }
  auto body = merged(run, answers, sections.size(), context_chars);
  if (auto* step = std::get_if<call_step>(&body)) return std::move(*step);
  p.title =
      fitting_title(trim(m.title).empty() ? std::string{} : "Key points: " + m.title, "Key points");
  p.body = std::move(std::get<std::string>(body));
  return p;
}

}  // namespace

std::string_view to_string(kind k) {
  for (const auto& [value, name] : kind_names)
    if (value == k) return name;
  return "blog";
}

std::optional<kind> kind_from_string(std::string_view name) {
  for (const auto& [value, known] : kind_names)
    if (known == name) return value;
  return std::nullopt;
}

boost::json::value to_json(const run_context& c) {
  return boost::json::object{{"template", c.template_text},
                             {"ethics", c.ethics},
                             {"projectName", c.project_name},
                             {"language", c.language}};
}

std::optional<run_context> run_context_of(const boost::json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  const auto* tmpl = o->if_contains("template");
  if (tmpl == nullptr || !tmpl->is_string()) return std::nullopt;
  for (std::string_view key : {"ethics", "projectName", "language"}) {
    const auto* field = o->if_contains(key);
    if (field != nullptr && !field->is_string()) return std::nullopt;
  }
  return run_context{std::string{tmpl->get_string()}, string_field(*o, "ethics"),
                     string_field(*o, "projectName"), string_field(*o, "language")};
}

std::variant<call_step, item_product> advance(kind k, const run_context& run,
                                              const boost::json::value& item_input,
                                              std::span<const std::string> answers,
                                              std::size_t context_chars) {
  auto m = material_of(item_input);
  switch (k) {
    case kind::blog:
    case kind::docs:
      return advance_notes(k, run, m, answers);
    case kind::key_points:
    case kind::translate:
      return advance_sections(k, run, m, answers, context_chars);
  }
  return advance_notes(kind::blog, run, m, answers);
}

call_step continuation(const call_step& step, std::string_view partial) {
  call_step next = step;
  next.messages.push_back({"assistant", std::string{partial}});
  next.messages.push_back({"user", std::string{continue_prompt}});
  return next;
}

std::vector<std::string> split_sections(std::string_view text, std::size_t max_chars) {
  std::vector<std::string> out;
  split_into(text, boundary::heading, std::max(max_chars, min_section_bytes), out);
  return out;
}

}  // namespace nyxgate::workflows
