#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "storage/blog_repository.hpp"

/// The public blog pages, rendered once per change and served from memory.
namespace nyxgate::api::blog {

/// A rendered page and the header lines that go with it (ETag, Cache-Control, ...).
struct page {
  std::string body;
  std::string etag;        ///< strong, quoted: "\"<hash>\""
  std::string head_lines;  ///< `Name: value\r\n` each, ETag included
  std::string_view content_type;
};

/// Hash lookups by string_view without building a std::string per request.
struct text_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class Value>
using text_map = std::unordered_map<std::string, Value, text_hash, std::equal_to<>>;
using text_set = std::unordered_set<std::string, text_hash, std::equal_to<>>;

/// Everything one blog serves: immutable once built, shared by every I/O shard.
struct rendered_blog {
  std::string project_id;
  page index;
  page feed;
  text_map<page> posts;  ///< by post slug
  std::size_t bytes = 0;
};

struct blog_limits {
  std::size_t max_blogs = 256;               ///< rendered blogs kept
  std::size_t max_bytes = 64 * 1024 * 1024;  ///< their pages' bytes, all together
  std::int64_t max_posts = 500;              ///< newest published posts a blog shows
  std::size_t feed_entries = 20;
  /// How long the list of blog slugs answers "no such blog" on its own; invalidations drop
  /// it at once, this bounds a missed notice.
  std::chrono::seconds directory_ttl{60};
};

/// Renders a loaded blog's pages with their ETags.
std::shared_ptr<const rendered_blog> render_blog(const storage::blog_repository::blog_row& blog,
                                                 const blog_limits& limits);
/// A page that no cache should keep (404, 405, 503): no ETag, `Cache-Control: no-store`.
page make_uncached_page(std::string body);

/// Rendered blogs by blog slug, and the set of blog slugs in use, so that an unknown slug is
/// answered from memory. Thread-safe and read-mostly: a view takes a shared lock and copies a
/// shared_ptr. Every invalidation moves a generation counter; a load stores its result only
/// when the counter has not moved since the load began, so a render that raced a change is
/// served to its waiters but never kept.
class blog_cache {
 public:
  explicit blog_cache(blog_limits limits = {}) : limits_(limits) {}

  const blog_limits& limits() const { return limits_; }

  struct lookup {
    std::shared_ptr<const rendered_blog> blog;  ///< set: serve from it
    bool missing = false;                       ///< no blog has this slug
  };
  /// Neither set: load it.
  lookup find(std::string_view blog_slug) const;

  std::uint64_t generation() const;

  /// Keeps a load's outcome (`blog` null: no such blog) and the directory of slugs it read,
  /// unless an invalidation came after `generation` was read.
  void store(std::uint64_t generation, std::string_view blog_slug,
             std::shared_ptr<const rendered_blog> blog, text_set directory);

  /// Drops the project's pages and the directory (its blog slug may have changed).
  void invalidate(std::string_view project_id);
  /// Drops everything: after the listener reconnects (notices may have been lost).
  void invalidate_all();

  std::size_t size() const;

 private:
  using clock = std::chrono::steady_clock;

  blog_limits limits_;
  mutable std::shared_mutex mutex_;
  std::uint64_t generation_ = 0;
  text_map<std::shared_ptr<const rendered_blog>> blogs_;
  std::deque<std::string> order_;  ///< slugs, oldest stored first: evicted first
  std::size_t bytes_ = 0;
  text_set directory_;
  bool directory_known_ = false;
  clock::time_point directory_at_{};

  void erase(std::string_view blog_slug);
};

}  // namespace nyxgate::api::blog
