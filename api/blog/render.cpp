#include "api/blog/render.hpp"

#include <cmark.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>

namespace nyxgate::api::blog {

namespace {

constexpr std::array<std::string_view, 12> month_names{
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

/// System fonts, one readable column, light and dark colours; no web fonts, no script.
constexpr std::string_view stylesheet =
    R"(:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#656d76;--card:#f4f5f7;--line:#d8dee4;--accent:#0a5fc4}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8d96a0;--card:#161b22;--line:#30363d;--accent:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:1.0625rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
.page{max-width:42rem;margin:0 auto;padding:1.5rem 1.125rem 3rem}
a{color:var(--accent);text-decoration-thickness:1px;text-underline-offset:2px}
header.site h1{font-size:1.75rem;line-height:1.2;margin:0 0 .25rem}
header.site h1 a{color:inherit;text-decoration:none}
header.site p{margin:0;color:var(--muted)}
.hero{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:1.25rem 1.5rem;margin:1.75rem 0 2rem}
.hero .label{margin:0;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
.hero h2{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .5rem}
.hero h2 a{color:inherit}
.hero p.excerpt{margin:.5rem 0 0}
time{color:var(--muted);font-size:.9rem}
.timeline h2{font-size:1rem;margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line);color:var(--muted)}
.timeline ul{list-style:none;margin:0;padding:0}
.timeline li{display:flex;gap:1rem;justify-content:space-between;align-items:baseline;padding:.4rem 0}
.timeline li time{flex:none}
article.post h1{font-size:2rem;line-height:1.2;margin:1.5rem 0 .25rem}
.body img{max-width:100%;height:auto}
.body pre{overflow-x:auto;background:var(--card);padding:.75rem 1rem;border-radius:8px}
.body code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.body blockquote{margin:0;padding-left:1rem;border-left:3px solid var(--line);color:var(--muted)}
footer{margin-top:3rem;font-size:.9rem;color:var(--muted)}
@media (max-width:30rem){.timeline li{flex-direction:column;gap:0}header.site h1{font-size:1.5rem}})";

/// The length (1 or 2 bytes) of a control character at `text[i]` that neither HTML nor XML
/// allows (C0 but tab, LF and CR; DEL; C1 as UTF-8), or 0.
std::size_t refused_control(std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return 1;
  if (c != 0xc2 || i + 1 >= text.size()) return 0;
  auto next = static_cast<unsigned char>(text[i + 1]);
  return next >= 0x80 && next <= 0x9f ? 2 : 0;
}

constexpr std::string_view replacement = "\xEF\xBF\xBD";

void append_escaped(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '&':
        out += "&amp;";
        continue;
      case '<':
        out += "&lt;";
        continue;
      case '>':
        out += "&gt;";
        continue;
      case '"':
        out += "&quot;";
        continue;
      case '\'':
        out += "&#39;";
        continue;
      default:
        break;
    }
    if (auto n = refused_control(text, i)) {
      out += replacement;
      i += n - 1;
      continue;
    }
    out += text[i];
  }
}

/// Markdown input with the control characters HTML and XML refuse replaced, so that cmark's
/// output (which keeps them) stays valid in both.
std::string scrub_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (auto n = refused_control(text, i)) {
      out += replacement;
      i += n - 1;
      continue;
    }
    out += text[i];
  }
  return out;
}

struct node_deleter {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
struct iter_deleter {
  void operator()(cmark_iter* i) const { cmark_iter_free(i); }
};
using node_ptr = std::unique_ptr<cmark_node, node_deleter>;

/// CMARK_OPT_UNSAFE stays off: raw HTML becomes a comment, javascript: and similar links are
/// dropped. Invalid UTF-8 is replaced.
constexpr int cmark_options = CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8;

node_ptr parse(std::string_view markdown) {
  auto clean = scrub_controls(markdown);
  return node_ptr{cmark_parse_document(clean.data(), clean.size(), cmark_options)};
}

int month_of(std::string_view iso) {
  if (iso.size() < 7) return 0;
  return (iso[5] - '0') * 10 + (iso[6] - '0');
}

std::string_view year_of(std::string_view iso) {
  return iso.substr(0, std::min<std::size_t>(4, iso.size()));
}

std::string_view month_key(std::string_view iso) {
  return iso.substr(0, std::min<std::size_t>(7, iso.size()));
}

std::string blog_href(const blog_row& blog) {
  return "/b/" + blog.blog_slug;
}

std::string post_href(const blog_row& blog, const post_row& post) {
  return "/b/" + blog.blog_slug + "/" + post.slug;
}

void append_post_link(std::string& out, const blog_row& blog, const post_row& post) {
  out += "<a href=\"";
  append_escaped(out, post_href(blog, post));
  out += "\">";
  append_escaped(out, post.title);
  out += "</a>";
}

void append_time(std::string& out, std::string_view iso, std::string_view text) {
  out += "<time datetime=\"";
  append_escaped(out, iso);
  out += "\">";
  append_escaped(out, text);
  out += "</time>";
}

void open_page(std::string& out, const blog_row* blog, std::string_view title) {
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  append_escaped(out, title);
  out += "</title>\n";
  if (blog) {
    out += "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"";
    append_escaped(out, blog->name);
    out += "\" href=\"";
    append_escaped(out, blog_href(*blog) + "/feed.xml");
    out += "\">\n";
  }
  out += "<style>\n";
  out += stylesheet;
  out += "\n</style>\n</head>\n<body>\n<div class=\"page\">\n";
}

void close_page(std::string& out, const blog_row* blog) {
  if (blog) {
    out += "<footer><a href=\"";
    append_escaped(out, blog_href(*blog) + "/feed.xml");
    out += "\">Atom feed</a></footer>\n";
  }
  out += "</div>\n</body>\n</html>\n";
}

void append_site_header(std::string& out, const blog_row& blog) {
  out += "<header class=\"site\">\n<h1><a href=\"";
  append_escaped(out, blog_href(blog));
  out += "\">";
  append_escaped(out, blog.name);
  out += "</a></h1>\n";
  if (!blog.description.empty()) {
    out += "<p>";
    append_escaped(out, blog.description);
    out += "</p>\n";
  }
  out += "</header>\n";
}

/// Cuts `text` at `max_bytes` on a UTF-8 boundary, back to the last space when there is one.
std::string cut_text(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  auto space = text.rfind(' ', end);
  if (space != std::string::npos && space > max_bytes / 2) end = space;
  text.resize(end);
  text += "\xE2\x80\xA6";
  return text;
}

const std::string& later(const std::string& a, const std::string& b) {
  return a < b ? b : a;
}

void append_xml_element(std::string& out, std::string_view name, std::string_view text) {
  out += '<';
  out += name;
  out += '>';
  append_escaped(out, text);
  out += "</";
  out += name;
  out += ">\n";
}

}  // namespace

std::string escape_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  append_escaped(out, text);
  return out;
}

std::string markdown_html(std::string_view markdown) {
  auto doc = parse(markdown);
  if (!doc) return {};
  std::unique_ptr<char, decltype(&std::free)> html{cmark_render_html(doc.get(), cmark_options),
                                                   &std::free};
  return html ? std::string{html.get()} : std::string{};
}

std::string markdown_excerpt(std::string_view markdown, std::size_t max_bytes) {
  auto doc = parse(markdown);
  if (!doc) return {};
  std::string text;
  std::unique_ptr<cmark_iter, iter_deleter> it{cmark_iter_new(doc.get())};
  cmark_event_type ev;
  while ((ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE && text.size() <= max_bytes) {
    auto* node = cmark_iter_get_node(it.get());
    auto type = cmark_node_get_type(node);
    if (ev == CMARK_EVENT_ENTER && (type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE)) {
      if (const char* literal = cmark_node_get_literal(node)) text += literal;
    } else if (type == CMARK_NODE_SOFTBREAK || type == CMARK_NODE_LINEBREAK ||
               (ev == CMARK_EVENT_EXIT &&
                (type == CMARK_NODE_PARAGRAPH || type == CMARK_NODE_HEADING))) {
      if (!text.empty() && text.back() != ' ') text += ' ';
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return cut_text(std::move(text), max_bytes);
}

std::string month_heading(std::string_view iso_time) {
  int m = month_of(iso_time);
  if (m < 1 || m > 12) return std::string{iso_time};
  return std::string{month_names[m - 1]} + " " + std::string{year_of(iso_time)};
}

std::string day_text(std::string_view iso_time) {
  if (iso_time.size() < 10) return std::string{iso_time};
  int day = (iso_time[8] - '0') * 10 + (iso_time[9] - '0');
  return std::to_string(day) + " " + month_heading(iso_time);
}

std::string render_index(const blog_row& blog) {
  std::string out;
  out.reserve(8192 + blog.posts.size() * 256);
  open_page(out, &blog, blog.name);
  append_site_header(out, blog);
  out += "<main>\n";
  if (blog.posts.empty()) {
    out += "<p>No posts yet.</p>\n";
  } else {
    const auto& hero = blog.posts.front();
    out += "<article class=\"hero\">\n<p class=\"label\">Latest</p>\n<h2>";
    append_post_link(out, blog, hero);
    out += "</h2>\n";
    append_time(out, hero.published_at, day_text(hero.published_at));
    out += "\n<p class=\"excerpt\">";
    append_escaped(out, markdown_excerpt(hero.body, 280));
    out += "</p>\n</article>\n";
  }
  if (blog.posts.size() > 1) {
    out += "<section class=\"timeline\" aria-label=\"Earlier posts\">\n";
    std::string_view month;
    for (std::size_t i = 1; i < blog.posts.size(); ++i) {
      const auto& post = blog.posts[i];
      if (month_key(post.published_at) != month) {
        if (!month.empty()) out += "</ul>\n";
        month = month_key(post.published_at);
        out += "<h2>";
        append_escaped(out, month_heading(post.published_at));
        out += "</h2>\n<ul>\n";
      }
      out += "<li>";
      append_post_link(out, blog, post);
      out += " ";
      append_time(out, post.published_at, day_text(post.published_at));
      out += "</li>\n";
    }
    out += "</ul>\n</section>\n";
  }
  out += "</main>\n";
  close_page(out, &blog);
  return out;
}

std::string render_post(const blog_row& blog, const post_row& post) {
  std::string out;
  out.reserve(8192 + post.body.size() * 2);
  open_page(out, &blog, post.title + " \xE2\x80\x93 " + blog.name);
  append_site_header(out, blog);
  out += "<main>\n<article class=\"post\">\n<h1>";
  append_escaped(out, post.title);
  out += "</h1>\n";
  append_time(out, post.published_at, day_text(post.published_at));
  out += "\n<div class=\"body\">\n";
  out += markdown_html(post.body);
  out += "</div>\n</article>\n<p><a href=\"";
  append_escaped(out, blog_href(blog));
  out += "\">All posts</a></p>\n</main>\n";
  close_page(out, &blog);
  return out;
}

std::string render_feed(const blog_row& blog, std::size_t max_entries) {
  std::string updated = blog.updated_at;
  for (const auto& post : blog.posts)
    updated = later(updated, later(post.updated_at, post.published_at));
  std::string out;
  out.reserve(4096 + std::min(blog.posts.size(), max_entries) * 4096);
  out +=
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  append_xml_element(out, "id", "urn:uuid:" + blog.project_id);
  append_xml_element(out, "title", blog.name);
  if (!blog.description.empty()) append_xml_element(out, "subtitle", blog.description);
  append_xml_element(out, "updated", updated);
  out += "<link rel=\"self\" type=\"application/atom+xml\" href=\"";
  append_escaped(out, blog_href(blog) + "/feed.xml");
  out += "\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"";
  append_escaped(out, blog_href(blog));
  out += "\"/>\n<author>";
  append_xml_element(out, "name", blog.name);
  out += "</author>\n";
  std::size_t n = std::min(blog.posts.size(), max_entries);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& post = blog.posts[i];
    out += "<entry>\n";
    append_xml_element(out, "id", "urn:uuid:" + post.id);
    append_xml_element(out, "title", post.title);
    append_xml_element(out, "updated", later(post.updated_at, post.published_at));
    append_xml_element(out, "published", post.published_at);
    out += "<link rel=\"alternate\" type=\"text/html\" href=\"";
    append_escaped(out, post_href(blog, post));
    out += "\"/>\n<content type=\"html\">";
    append_escaped(out, markdown_html(post.body));
    out += "</content>\n</entry>\n";
  }
  out += "</feed>\n";
  return out;
}

std::string render_message(std::string_view title, std::string_view text) {
  std::string out;
  open_page(out, nullptr, title);
  out += "<main>\n<h1>";
  append_escaped(out, title);
  out += "</h1>\n<p>";
  append_escaped(out, text);
  out += "</p>\n</main>\n";
  close_page(out, nullptr);
  return out;
}

}  // namespace nyxgate::api::blog
