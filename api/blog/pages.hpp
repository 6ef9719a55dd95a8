#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/blog/cache.hpp"
#include "net/http/types.hpp"

namespace boost::asio {
class io_context;
}
namespace nyxgate::storage {
class database;
}

namespace nyxgate::api::blog {

/// What a path under /b/ asks for.
struct target {
  enum class kind { index, feed, post, invalid };
  kind what = kind::invalid;
  std::string_view blog_slug;
  std::string_view post_slug;
};
/// `/b/{blog}`, `/b/{blog}/feed.xml`, `/b/{blog}/{post}`; slugs `[a-z0-9-]{1,64}`.
target parse_target(std::string_view path);

/// True when an If-None-Match value names `etag` (`*`, a list, weak `W/` forms: RFC 9110's
/// weak comparison).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// GET and HEAD under /b/: answered from the cache on the calling I/O thread; a miss loads
/// the blog once (concurrent misses of one slug wait for the same load) in a coroutine that
/// waits on storage without blocking the thread.
class blog_pages {
 public:
  blog_pages(boost::asio::io_context& io, storage::database& db, blog_limits limits = {});

  void handle(net::http_request request, net::respond_fn respond);

  blog_cache& cache() { return cache_; }

  /// Distinct slugs loading at once; a miss beyond it is answered 503 (a flood of unknown
  /// slugs while the directory of slugs is being read).
  static constexpr std::size_t max_loads = 32;

 private:
  struct waiter {
    net::http_request request;
    net::respond_fn respond;
  };
  struct load_state {
    std::uint64_t generation = 0;
    std::vector<waiter> waiters;
  };

  boost::asio::io_context& io_;
  storage::database& db_;
  blog_cache cache_;
  page not_found_;
  page unavailable_;
  page busy_;
  page not_allowed_;
  std::mutex loads_mutex_;
  text_map<std::shared_ptr<load_state>> loads_;

  void load(std::string blog_slug, waiter w);
  boost::asio::awaitable<void> run_load(std::string blog_slug, std::shared_ptr<load_state> state);
  net::http_response answer(const rendered_blog* blog, const net::http_request& request) const;
};

}  // namespace nyxgate::api::blog
