#include "api/blog/cache.hpp"

#include <algorithm>
#include <mutex>

#include "api/blog/render.hpp"
#include "identity/token.hpp"

namespace nyxgate::api::blog {

namespace {

constexpr std::string_view html_type = "text/html; charset=utf-8";
constexpr std::string_view atom_type = "application/atom+xml; charset=utf-8";

/// Browsers and proxies may keep a page but ask again each time (If-None-Match, answered 304
/// from memory): a publish shows at once, which a max-age would delay.
constexpr std::string_view cache_control = "Cache-Control: public, no-cache\r\n";
/// Nothing on these pages runs; styles are inline, images may come from anywhere on https.
constexpr std::string_view html_policy =
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src https: "
    "data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n";

page make_page(std::string body, std::string_view content_type) {
  page p;
  // 128 bits of SHA-256: the same body has the same ETag on every node.
  auto hash = identity::sha256_hex(body);
  p.etag.reserve(34);
  p.etag.append(1, '"').append(hash, 0, 32).append(1, '"');
  p.head_lines = "ETag: " + p.etag + "\r\n";
  p.head_lines += cache_control;
  if (content_type == html_type)
    p.head_lines += html_policy;
  else
    p.head_lines += "X-Content-Type-Options: nosniff\r\n";
  p.body = std::move(body);
  p.content_type = content_type;
  return p;
}

}  // namespace

page make_uncached_page(std::string body) {
  page p;
  p.head_lines = "Cache-Control: no-store\r\n";
  p.head_lines += html_policy;
  p.body = std::move(body);
  p.content_type = html_type;
  return p;
}

std::shared_ptr<const rendered_blog> render_blog(const storage::blog_repository::blog_row& blog,
                                                 const blog_limits& limits) {
  auto out = std::make_shared<rendered_blog>();
  out->project_id = blog.project_id;
  out->index = make_page(render_index(blog), html_type);
  out->feed = make_page(render_feed(blog, limits.feed_entries), atom_type);
  out->bytes = out->index.body.size() + out->feed.body.size();
  out->posts.reserve(blog.posts.size());
  for (const auto& post : blog.posts) {
    auto p = make_page(render_post(blog, post), html_type);
    out->bytes += p.body.size() + post.slug.size();
    out->posts.emplace(post.slug, std::move(p));
  }
  return out;
}

blog_cache::lookup blog_cache::find(std::string_view blog_slug) const {
  std::shared_lock lock(mutex_);
  if (auto it = blogs_.find(blog_slug); it != blogs_.end()) return {it->second, false};
  bool fresh = directory_known_ && clock::now() - directory_at_ < limits_.directory_ttl;
  return {nullptr, fresh && !directory_.contains(blog_slug)};
}

std::uint64_t blog_cache::generation() const {
  std::shared_lock lock(mutex_);
  return generation_;
}

void blog_cache::store(std::uint64_t generation, std::string_view blog_slug,
                       std::shared_ptr<const rendered_blog> blog, text_set directory) {
  std::unique_lock lock(mutex_);
  if (generation != generation_) return;
  directory_ = std::move(directory);
  directory_known_ = true;
  directory_at_ = clock::now();
  if (!blog) return;
  erase(blog_slug);
  while (!order_.empty() &&
         (blogs_.size() >= limits_.max_blogs || bytes_ + blog->bytes > limits_.max_bytes))
    erase(std::string{order_.front()});
  bytes_ += blog->bytes;
  blogs_.emplace(std::string{blog_slug}, std::move(blog));
  order_.emplace_back(blog_slug);
}

void blog_cache::invalidate(std::string_view project_id) {
  std::unique_lock lock(mutex_);
  ++generation_;
  directory_known_ = false;
  std::vector<std::string> slugs;
  for (const auto& [slug, blog] : blogs_)
    if (blog->project_id == project_id) slugs.push_back(slug);
  for (const auto& slug : slugs) erase(slug);
}

void blog_cache::invalidate_all() {
  std::unique_lock lock(mutex_);
  ++generation_;
  directory_known_ = false;
  directory_.clear();
  blogs_.clear();
  order_.clear();
  bytes_ = 0;
}

std::size_t blog_cache::size() const {
  std::shared_lock lock(mutex_);
  return blogs_.size();
}

void blog_cache::erase(std::string_view blog_slug) {
  if (auto it = blogs_.find(blog_slug); it != blogs_.end()) {
    bytes_ -= it->second->bytes;
    blogs_.erase(it);
  }
  if (auto o = std::find(order_.begin(), order_.end(), blog_slug); o != order_.end())
    order_.erase(o);
}

}  // namespace nyxgate::api::blog
