#include "workflows/templates.hpp"

#include <algorithm>
#include <cstddef>

namespace nyxgate::workflows {

namespace {

constexpr std::string_view open_mark = "{{";
constexpr std::string_view close_mark = "}}";

bool blank(char c) {
  return c == ' ' || c == '\t';
}

/// `{{ ethics }}` names `ethics`: spaces and tabs around the name are allowed.
std::string_view trimmed(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool known_variable(std::string_view name) {
  return std::find(std::begin(template_variables), std::end(template_variables), name) !=
         std::end(template_variables);
}

std::string at_line(std::string_view what, std::size_t line) {
  std::string m(what);
  m += " at line ";
  m += std::to_string(line);
  return m;
}

const std::string* value_of(std::string_view name, const template_vars& vars) {
  if (name == "ethics") return &vars.ethics;
  if (name == "project.name") return &vars.project_name;
  if (name == "notes") return &vars.notes;
  if (name == "doc") return &vars.doc;
  if (name == "language") return &vars.language;
  return nullptr;
}

/// The built-in prompts. They name their material variable ({{notes}} or {{doc}}) and
/// {{project.name}}; the ethics text reaches the model as the call's system message.
constexpr std::string_view blog_template =
    R"(You write for the blog of the project "{{project.name}}".

Write one blog post in Markdown from the notes below. The first line is the post's title as a Markdown heading (`# Title`); the post follows it. Use only what the notes say: invent no facts, figures, quotes, links or sources, and cite nothing that is not in the notes. Write for a reader who has not seen the notes. Answer with the post only, with nothing before the title or after the post.

<notes>
{{notes}}
</notes>
)";

constexpr std::string_view docs_template =
    R"(You maintain the documentation of the project "{{project.name}}".

Write one documentation page in Markdown from the notes below. The first line is the page's title as a Markdown heading (`# Title`); the page follows it, organised under `##` headings. When the current page is given, refresh it: keep what the notes do not contradict, correct what they do, add what they add, and keep its title and structure where they still fit. When it is empty, write a new page. Use only what the notes and the current page say; invent no options, commands, figures or links. Answer with the page only.

<current-page>
{{doc}}
</current-page>

<notes>
{{notes}}
</notes>
)";

constexpr std::string_view key_points_template =
    R"(The text below is a document of the project "{{project.name}}", or one section of it.

List its key points as Markdown bullets (`- `), one point per bullet, in the order the text makes them. Keep names, numbers and terms as the text gives them, and add nothing the text does not say. Answer with the bullets only.

<text>
{{doc}}
</text>
)";

constexpr std::string_view translate_template =
    R"(Translate the text below, a document of the project "{{project.name}}" or one section of it, into {{language}}.

Keep its Markdown as it is: the same headings at the same levels, lists, tables, emphasis and line breaks. Leave code blocks, inline code and link URLs unchanged; translate the text of links. Answer with the translation only, with no note before or after it.

<text>
{{doc}}
</text>
)";

}  // namespace

std::optional<template_error> check_template(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return template_error{"empty template"};
  }
  std::size_t line = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (text.substr(i, close_mark.size()) == close_mark) {
      return template_error{at_line("}} without an opening {{", line)};
    }
    if (text.substr(i, open_mark.size()) != open_mark) {
      ++i;
      continue;
    }
    auto start = i + open_mark.size();
    auto close = text.find(close_mark, start);
    auto newline = text.find('\n', start);
    if (close == std::string_view::npos || (newline != std::string_view::npos && newline < close)) {
      return template_error{at_line("{{ without a closing }}", line)};
    }
    auto inside = text.substr(start, close - start);
    if (inside.find_first_of("{}") != std::string_view::npos) {
      return template_error{at_line("nested braces in {{" + std::string(inside) + "}}", line)};
    }
    auto name = trimmed(inside);
    if (name.empty()) return template_error{at_line("empty variable {{}}", line)};
    if (!known_variable(name)) {
      return template_error{at_line("unknown variable {{" + std::string(name) + "}}", line)};
    }
    i = close + close_mark.size();
  }
  return std::nullopt;
}

std::string render_template(std::string_view text, const template_vars& vars) {
  std::string out;
  out.reserve(text.size() + vars.notes.size() + vars.doc.size() + vars.ethics.size());
  std::size_t i = 0;
  while (i < text.size()) {
    auto open = text.find(open_mark, i);
    if (open == std::string_view::npos) break;
    auto start = open + open_mark.size();
    auto close = text.find(close_mark, start);
    if (close == std::string_view::npos) break;
    const auto* value = value_of(trimmed(text.substr(start, close - start)), vars);
    if (value == nullptr) {
      out.append(text.substr(i, start - i));
      i = start;
      continue;
    }
    out.append(text.substr(i, open - i));
    out.append(*value);
    i = close + close_mark.size();
  }
  out.append(text.substr(i));
  return out;
}

std::string_view default_template(kind k) {
  switch (k) {
    case kind::blog:
      return blog_template;
    case kind::docs:
      return docs_template;
    case kind::key_points:
      return key_points_template;
    case kind::translate:
      return translate_template;
  }
  return blog_template;
}

}  // namespace nyxgate::workflows
