// GitHub: a connector whose keys nyxgate stores and tests (github.viewer), without chat; its
// commits become project notes (projects.importGitHubCommits).
#include <boost/json.hpp>
#include <cctype>
#include <ctime>

#include "providers/adapter.hpp"
#include "providers/chat.hpp"
#include "providers/detail/wire.hpp"
#include "providers/github_api.hpp"

namespace nyxgate::providers {

namespace {

std::vector<std::pair<std::string, std::string>> github_headers(std::string_view token) {
  return {{"authorization", "Bearer " + std::string{token}},
          {"accept", "application/vnd.github+json"},
          {"x-github-api-version", "2022-11-28"}};
}

class github_api final : public key_prober {
 public:
  probe_request request(std::string_view base_url, std::string_view secret) const override {
    probe_request r;
    r.url = detail::trimmed_base(base_url) + "/user";
    r.headers = github_headers(secret);
    return r;
  }
};

struct url_parts {
  std::string scheme, host, port, path;
};

/// scheme://host[:port][/path][?query]; nullopt for anything with user info or no host.
std::optional<url_parts> split_url(std::string_view url) {
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  url_parts p;
  for (char c : url.substr(0, colon))
    p.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto rest = url.substr(colon + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  auto port = authority.rfind(':');
  if (port != std::string_view::npos && authority.find(']', port) == std::string_view::npos) {
    p.port = std::string{authority.substr(port + 1)};
    authority = authority.substr(0, port);
  }
  if (p.port.empty()) p.port = p.scheme == "https" ? "443" : "80";
  for (char c : authority) p.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (end != std::string_view::npos && rest[end] == '/') {
    auto path = rest.substr(end);
    p.path = std::string{path.substr(0, path.find_first_of("?#"))};
  }
  return p;
}

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

/// At most `max` code points of UTF-8 `s`.
std::string cut_code_points(std::string_view s, std::size_t max) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (count == max) return std::string{s.substr(0, i)};
    ++count;
  }
  return std::string{s};
}

/// At most `max` bytes of UTF-8 `s`, never half a character.
std::string_view cut_bytes(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  while (max > 0 && (static_cast<unsigned char>(s[max]) & 0xC0) == 0x80) --max;
  return s.substr(0, max);
}

std::string string_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string{v->as_string()} : std::string{};
}

}  // namespace

const key_prober& github_prober() {
  static const github_api prober;
  return prober;
}

github_get github_request(std::string url, std::string_view token) {
  github_get g{std::move(url), github_headers(token)};
  g.headers.emplace_back("user-agent", "nyxgate");
  return g;
}

std::string github_repo_url(std::string_view base_url, std::string_view repo) {
  auto slash = repo.find('/');
  auto url = detail::trimmed_base(base_url) + "/repos/";
  append_path_segment(url, repo.substr(0, slash));
  url += '/';
  append_path_segment(url, slash == std::string_view::npos ? "" : repo.substr(slash + 1));
  return url;
}

std::string github_commits_url(std::string_view base_url, std::string_view repo, int per_page,
                               const std::optional<std::string>& since) {
  auto url = github_repo_url(base_url, repo) + "/commits?per_page=" + std::to_string(per_page);
  if (since) {
    // The unreserved characters are the same in a query value: the segment encoder serves.
    url += "&since=";
    append_path_segment(url, *since);
  }
  return url;
}

std::optional<std::string> link_next(std::string_view header) {
  // <url>; rel="next", <url>; rel="last": URLs in angle brackets, parameters after them.
  std::size_t pos = 0;
  while ((pos = header.find('<', pos)) != std::string_view::npos) {
    auto close = header.find('>', pos);
    if (close == std::string_view::npos) return std::nullopt;
    auto url = header.substr(pos + 1, close - pos - 1);
    auto next_entry = header.find('<', close);
    auto params =
        header.substr(close + 1, next_entry == std::string_view::npos ? std::string_view::npos
                                                                      : next_entry - close - 1);
    if (params.find("rel=\"next\"") != std::string_view::npos ||
        params.find("rel=next") != std::string_view::npos)
      return std::string{url};
    pos = close;
  }
  return std::nullopt;
}

bool under_base(std::string_view base_url, std::string_view url) {
  auto base = split_url(detail::trimmed_base(base_url));
  auto target = split_url(url);
  if (!base || !target) return false;
  if (base->scheme != target->scheme || base->host != target->host || base->port != target->port)
    return false;
  if (base->path.empty()) return true;
  return target->path.starts_with(base->path + "/");
}

bool valid_github_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 19 || s.size() > 35) return false;
  auto num = [&](std::size_t at, std::size_t n) { return digits(s.substr(at, n)); };
  if (!num(0, 4) || s[4] != '-' || !num(5, 2) || s[7] != '-' || !num(8, 2) || s[10] != 'T' ||
      !num(11, 2) || s[13] != ':' || !num(14, 2) || s[16] != ':' || !num(17, 2))
    return false;
  auto rest = s.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t n = 1;
    while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 1 || n > 10) return false;
    rest = rest.substr(n);
  }
  if (rest == "Z") return true;
  return rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && digits(rest.substr(1, 2)) &&
         rest[3] == ':' && digits(rest.substr(4, 2));
}

bool github_rate_limited(unsigned status, std::string_view remaining) {
  return (status == 403 || status == 429) && remaining == "0";
}

std::string github_reset_time(std::string_view header) {
  if (!digits(header) || header.size() > 12) return {};
  std::time_t t = static_cast<std::time_t>(std::stoll(std::string{header}));
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return {};
  char out[32];
  auto n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(out, n);
}

std::optional<std::vector<github_commit>> parse_commit_page(std::string_view body) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_array()) return std::nullopt;
  std::vector<github_commit> out;
  out.reserve(doc.as_array().size());
  for (const auto& item : doc.as_array()) {
    if (!item.is_object()) return std::nullopt;
    const auto& o = item.as_object();
    const auto* commit = o.if_contains("commit");
    if (!commit || !commit->is_object()) return std::nullopt;
    github_commit c;
    c.sha = string_at(o, "sha");
    if (c.sha.size() != 40) return std::nullopt;
    for (char ch : c.sha)
      if (!std::isxdigit(static_cast<unsigned char>(ch)) ||
          std::isupper(static_cast<unsigned char>(ch)))
        return std::nullopt;
    c.message = string_at(commit->as_object(), "message");
    if (const auto* a = commit->as_object().if_contains("author"); a && a->is_object()) {
      c.author = string_at(a->as_object(), "name");
      c.date = string_at(a->as_object(), "date");
    }
    if (const auto* account = o.if_contains("author"); account && account->is_object()) {
      auto login = string_at(account->as_object(), "login");
      if (!login.empty())
        c.author = c.author.empty() ? "@" + login : c.author + " (@" + login + ")";
    }
    if (c.author.empty()) c.author = "an unknown author";
    // JSON may carry U+0000, which no PostgreSQL text holds.
    std::erase(c.message, '\0');
    std::erase(c.author, '\0');
    std::erase(c.date, '\0');
    out.push_back(std::move(c));
  }
  return out;
}

commit_note note_of(const github_commit& c) {
  constexpr std::size_t max_body = 262144;
  auto short_sha = c.sha.substr(0, 7);
  std::string_view message = c.message;
  auto line_end = message.find('\n');
  std::string_view first = message.substr(0, line_end);
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  auto title = cut_code_points(first, 300);
  if (title.find_first_not_of(" \t") == std::string::npos) title = "Commit " + short_sha;
  auto signature = "\n\nCommitted by " + c.author + " as " + short_sha +
                   (c.date.empty() ? std::string{} : " on " + c.date) + ".";
  signature = std::string{cut_bytes(signature, 4096)};
  std::string body{cut_bytes(message, max_body - signature.size())};
  body += signature;
  return commit_note{c.sha, std::move(title), std::move(body)};
}

}  // namespace nyxgate::providers
