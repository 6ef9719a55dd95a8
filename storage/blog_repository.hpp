#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db_types.hpp"

/// SQL of the public blog pages: a blog is found by its blog slug (one namespace across
/// tenants, since the pages are public) and shows only published posts.
namespace nyxgate::storage::blog_repository {

/// Times are ISO 8601 UTC text.
struct post_row {
  std::string id;
  std::string slug;
  std::string title;
  std::string body;  ///< Markdown
  std::string published_at;
  std::string updated_at;
};

struct blog_row {
  std::string project_id;
  std::string blog_slug;
  std::string name;
  std::string description;
  std::string updated_at;
  std::vector<post_row> posts;  ///< published only, newest first
};

/// One blog slug and the project that owns it.
struct directory_row {
  std::string blog_slug;
  std::string project_id;
};

/// One round trip, two statements: every blog slug in use (so an unknown slug is answered
/// from memory), then the blog `blog_slug` names with at most `max_posts` of its published
/// posts. Run it as a transaction so both read one snapshot.
db_batch load_blog(std::string_view blog_slug, std::int64_t max_posts);

/// The directory from load_blog's reply.
std::vector<directory_row> directory_rows(const db_reply& r);
/// The blog from load_blog's reply; none when no project has that blog slug.
std::optional<blog_row> blog_of(const db_reply& r, std::string_view blog_slug);

}  // namespace nyxgate::storage::blog_repository
