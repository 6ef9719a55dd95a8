#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// GitHub's REST API as nyxgate uses it beyond the key probe: repository and commit URLs, the
/// `Link` header, commit pages and the notes they become. Pure: no network here.
namespace nyxgate::providers {

/// A GET with the token in GitHub's own headers. Carries the secret: never log the headers.
struct github_get {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};
github_get github_request(std::string url, std::string_view token);

/// `{base}/repos/{owner}/{name}`; `repo` is `owner/name`, each part percent-encoded.
std::string github_repo_url(std::string_view base_url, std::string_view repo);
/// `{base}/repos/{owner}/{name}/commits?per_page=N[&since=…]`.
std::string github_commits_url(std::string_view base_url, std::string_view repo, int per_page,
                               const std::optional<std::string>& since);

/// The `rel="next"` target of a `Link` header, if any.
std::optional<std::string> link_next(std::string_view link_header);
/// Whether `url` lies under `base_url` (same scheme, host and port, its path below the base's
/// path, no user info): the only URLs the token may be sent to.
bool under_base(std::string_view base_url, std::string_view url);

/// A timestamp GitHub accepts for `since`: `YYYY-MM-DDTHH:MM:SS` with an optional fraction and
/// `Z` or a `±HH:MM` offset.
bool valid_github_time(std::string_view s);
/// GitHub's primary rate limit: 403 or 429 with `x-ratelimit-remaining: 0`.
bool github_rate_limited(unsigned status, std::string_view remaining_header);
/// `x-ratelimit-reset` (unix seconds) as ISO 8601 UTC; empty when absent or malformed.
std::string github_reset_time(std::string_view reset_header);

struct github_commit {
  std::string sha;      ///< 40 lower-case hex digits
  std::string message;  ///< commit.message
  std::string author;   ///< commit.author.name, with the account login when there is one
  std::string date;     ///< commit.author.date, ISO 8601
};
/// A page of `GET …/commits`; nullopt when the body is not such a page.
std::optional<std::vector<github_commit>> parse_commit_page(std::string_view body);

struct commit_note {
  std::string sha;
  std::string title;  ///< the message's first line, at most 300 code points
  std::string body;   ///< the message and a line naming author, short sha and date
};
commit_note note_of(const github_commit& c);

}  // namespace nyxgate::providers
