#pragma once

#include <string>
#include <string_view>

#include "storage/blog_repository.hpp"

/// The public blog's pages as text: pure functions of a loaded blog, no I/O. Every text from
/// the database is escaped; post bodies are CommonMark rendered with raw HTML left out.
namespace nyxgate::api::blog {

using storage::blog_repository::blog_row;
using storage::blog_repository::post_row;

/// The index: a hero card for the newest post, then the others grouped by month.
std::string render_index(const blog_row& blog);
/// One post, its body rendered from Markdown.
std::string render_post(const blog_row& blog, const post_row& post);
/// The Atom feed of the newest `max_entries` posts. Links are root-relative: the cache
/// serves every host name the node answers to.
std::string render_feed(const blog_row& blog, std::size_t max_entries);
/// A page that only says something: not found, unavailable, method not allowed.
std::string render_message(std::string_view title, std::string_view text);

/// Text for HTML and XML: `& < > " '` escaped, and control characters that neither allows
/// (all of C0 but tab, LF and CR; DEL; C1) replaced with U+FFFD.
std::string escape_text(std::string_view text);
/// CommonMark to HTML (libcmark, raw HTML and dangerous URLs left out).
std::string markdown_html(std::string_view markdown);
/// The plain text of a Markdown body, cut at a word near `max_bytes` (with an ellipsis).
std::string markdown_excerpt(std::string_view markdown, std::size_t max_bytes);
/// "December 2026" for an ISO 8601 time ("2026-12-07T...").
std::string month_heading(std::string_view iso_time);
/// "7 December 2026".
std::string day_text(std::string_view iso_time);

}  // namespace nyxgate::api::blog
