#include "api/blog/pages.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "api/blog/render.hpp"
#include "runtime/io_runtime.hpp"
#include "storage/async.hpp"
#include "telemetry/log.hpp"

namespace nyxgate::api::blog {

namespace asio = boost::asio;

namespace {

bool valid_slug(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

net::http_response response_of(const page& p, unsigned status, const net::http_request& request) {
  net::http_response out;
  out.route = telemetry::route_kind::blog;
  out.content_type = p.content_type;
  out.head_lines = p.head_lines;
  if (status == 200 && !p.etag.empty()) {
    for (const auto& [name, value] : request.headers) {
      if (name == "if-none-match" && etag_matches(value, p.etag)) {
        out.status = 304;
        return out;
      }
    }
  }
  out.status = status;
  out.body = p.body;
  return out;
}

}  // namespace

target parse_target(std::string_view path) {
  target t;
  if (!path.starts_with("/b/")) return t;
  auto rest = path.substr(3);
  auto slash = rest.find('/');
  t.blog_slug = rest.substr(0, slash);
  if (!valid_slug(t.blog_slug)) return t;
  if (slash == std::string_view::npos) {
    t.what = target::kind::index;
    return t;
  }
  auto tail = rest.substr(slash + 1);
  if (tail.empty()) {
    t.what = target::kind::index;
  } else if (tail == "feed.xml") {
    t.what = target::kind::feed;
  } else if (valid_slug(tail)) {
    t.what = target::kind::post;
    t.post_slug = tail;
  }
  return t;
}

bool etag_matches(std::string_view header, std::string_view etag) {
  std::size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t' || header[i] == ',')) ++i;
    if (i >= header.size()) break;
    if (header[i] == '*') return true;
    if (header.substr(i, 2) == "W/") i += 2;
    if (i < header.size() && header[i] == '"') {
      auto close = header.find('"', i + 1);
      if (close == std::string_view::npos) return false;
      if (header.substr(i, close - i + 1) == etag) return true;
      i = close + 1;
    } else {
      auto comma = header.find(',', i);
      if (comma == std::string_view::npos) break;
      i = comma;
    }
  }
  return false;
}

blog_pages::blog_pages(asio::io_context& io, storage::database& db, blog_limits limits)
    : io_(io),
      db_(db),
      cache_(limits),
      not_found_(make_uncached_page(
          render_message("Not found", "There is no blog or post at this address."))),
      unavailable_(make_uncached_page(render_message(
          "Unavailable", "This blog cannot be shown right now. Please try again in a moment."))),
      busy_(make_uncached_page(
          render_message("Busy", "Too many blogs are loading at once. Please try again."))),
      not_allowed_(
          make_uncached_page(render_message("Method not allowed", "Use GET or HEAD here."))) {
  not_allowed_.head_lines += "Allow: GET, HEAD\r\n";
  unavailable_.head_lines += "Retry-After: 1\r\n";
  busy_.head_lines += "Retry-After: 1\r\n";
}

void blog_pages::handle(net::http_request request, net::respond_fn respond) {
  if (request.method != "GET" && request.method != "HEAD")
    return respond(response_of(not_allowed_, 405, request));
  auto path = std::string_view{request.target}.substr(0, request.target.find('?'));
  auto t = parse_target(path);
  if (t.what == target::kind::invalid) return respond(response_of(not_found_, 404, request));
  auto found = cache_.find(t.blog_slug);
  if (found.blog) return respond(answer(found.blog.get(), request));
  if (found.missing) return respond(response_of(not_found_, 404, request));
  load(std::string{t.blog_slug}, waiter{std::move(request), std::move(respond)});
}

net::http_response blog_pages::answer(const rendered_blog* blog,
                                      const net::http_request& request) const {
  auto path = std::string_view{request.target}.substr(0, request.target.find('?'));
  auto t = parse_target(path);
  if (!blog) return response_of(not_found_, 404, request);
  switch (t.what) {
    case target::kind::index:
      return response_of(blog->index, 200, request);
    case target::kind::feed:
      return response_of(blog->feed, 200, request);
    case target::kind::post:
      if (auto it = blog->posts.find(t.post_slug); it != blog->posts.end())
        return response_of(it->second, 200, request);
      break;
    case target::kind::invalid:
      break;
  }
  return response_of(not_found_, 404, request);
}

void blog_pages::load(std::string blog_slug, waiter w) {
  std::shared_ptr<load_state> state;
  {
    std::lock_guard lock(loads_mutex_);
    auto generation = cache_.generation();
    auto it = loads_.find(blog_slug);
    // A load begun before the latest invalidation may read what changed since: not joined.
    if (it != loads_.end() && it->second->generation == generation) {
      it->second->waiters.push_back(std::move(w));
      return;
    }
    if (it == loads_.end() && loads_.size() >= max_loads) {
      auto busy = response_of(busy_, 503, w.request);
      w.respond(std::move(busy));
      return;
    }
    state = std::make_shared<load_state>();
    state->generation = generation;
    state->waiters.push_back(std::move(w));
    loads_[blog_slug] = state;
  }
  asio::co_spawn(asio::make_strand(runtime::local_context(io_)),
                 run_load(std::move(blog_slug), std::move(state)), asio::detached);
}

asio::awaitable<void> blog_pages::run_load(std::string blog_slug,
                                           std::shared_ptr<load_state> state) {
  auto batch = storage::blog_repository::load_blog(blog_slug, cache_.limits().max_posts);
  auto reply = co_await storage::async_execute(db_, std::move(batch));
  std::shared_ptr<const rendered_blog> rendered;
  bool ok = reply.ok();
  if (ok) {
    try {
      auto blog = storage::blog_repository::blog_of(reply, blog_slug);
      text_set directory;
      for (auto& row : storage::blog_repository::directory_rows(reply))
        directory.insert(std::move(row.blog_slug));
      if (blog) rendered = render_blog(*blog, cache_.limits());
      cache_.store(state->generation, blog_slug, rendered, std::move(directory));
    } catch (const std::exception& e) {
      telemetry::log_error("blog render failed", {{"blog", blog_slug}, {"error", e.what()}});
      ok = false;
    }
  } else {
    telemetry::log_warn("blog load failed",
                        {{"blog", blog_slug}, {"error", storage::to_string(reply.error)}});
  }
  std::vector<waiter> waiters;
  {
    std::lock_guard lock(loads_mutex_);
    waiters.swap(state->waiters);
    if (auto it = loads_.find(blog_slug); it != loads_.end() && it->second == state)
      loads_.erase(it);
  }
  for (auto& w : waiters)
    w.respond(ok ? answer(rendered.get(), w.request) : response_of(unavailable_, 503, w.request));
}

}  // namespace nyxgate::api::blog
