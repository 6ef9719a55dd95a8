// GitHub: a connector whose keys nyxgate stores and tests (github.viewer), without chat.
#include "providers/adapter.hpp"
#include "providers/detail/wire.hpp"

namespace nyxgate::providers {

namespace {

class github_api final : public key_prober {
 public:
  probe_request request(std::string_view base_url, std::string_view secret) const override {
    probe_request r;
    r.url = detail::trimmed_base(base_url) + "/user";
    r.headers = {{"authorization", "Bearer " + std::string{secret}},
                 {"accept", "application/vnd.github+json"},
                 {"x-github-api-version", "2022-11-28"}};
    return r;
  }
};

}  // namespace

const key_prober& github_prober() {
  static const github_api prober;
  return prober;
}

}  // namespace nyxgate::providers
