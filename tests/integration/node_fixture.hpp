#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "app/node.hpp"
#include "config/config.hpp"

namespace nyxgate::testing {

/// A reply as a client sees it: HTTP status and parsed JSON body. A streamed answer (a tRPC
/// subscription) is read to its end and reads as a tRPC client takes it: its data events as
/// an array in `result.data`, or its `serialized-error` event as `error` with that error's
/// status; `raw` holds the events as sent.
struct http_reply {
  unsigned status = 0;
  boost::json::value body;
  std::string raw;
};

/// One Server-Sent Event: its name ("" for a plain data event) and its data.
struct sse_event {
  std::string name;
  std::string data;
};

/// A streamed answer (Server-Sent Events) as it arrives.
class event_stream {
 public:
  virtual ~event_stream() = default;
  /// The next whole event, waiting up to `timeout`; nullopt on timeout or once the stream
  /// ended and every event was read.
  virtual std::optional<sse_event> next(std::chrono::milliseconds timeout) = 0;
  /// Whether the server ended the stream.
  virtual bool finished() const = 0;
  /// The client leaves.
  virtual void close() = 0;
};

/// A nyxgate node on a fresh database of the shared test cluster, listening on a free port.
/// Requests go straight into its handler (the full route, minus the socket).
class node_fixture {
 public:
  using settings_change = std::function<void(config::settings&)>;

  node_fixture();
  /// A node whose settings `change` adjusts before it starts (e.g. upstream base URLs).
  explicit node_fixture(const settings_change& change);
  /// A second node on the same database (scale-out tests).
  /// Nodes of one deployment share the database and the master key file.
  node_fixture(const std::string& conninfo, const std::string& master_key_file,
               const settings_change& change = {});
  std::string master_key_file() const { return settings_.server.data_dir + "/master.key"; }
  ~node_fixture();

  app::node& node() { return *node_; }
  const std::string& conninfo() const { return conninfo_; }

  /// Runs one request through the node's handler and waits for the answer.
  http_reply request(const std::string& method, const std::string& target,
                     const std::string& token = {}, const std::string& body = {});
  /// A tRPC query (GET with ?input=) or mutation (POST); `input` empty means no input.
  http_reply query(const std::string& path, const std::string& token,
                   const std::string& input = {});
  http_reply mutate(const std::string& path, const std::string& token,
                    const std::string& input = {});
  /// A tRPC subscription (GET with ?input=) read event by event; nullptr when the answer is
  /// no stream.
  std::shared_ptr<event_stream> subscribe(const std::string& path, const std::string& token,
                                          const std::string& input);

  /// Seeds a tenant with an owner through `init`; returns the owner's token.
  std::string seed_tenant(const std::string& slug, const std::string& owner_email);
  /// Adds a user with `role` to the tenant directly in SQL and mints a token for them.
  std::string add_user_with_token(const std::string& slug, const std::string& email,
                                  const std::string& role);

 private:
  config::settings settings_;
  std::string conninfo_;
  std::unique_ptr<app::node> node_;
};

/// Percent-encodes for a query string.
std::string url_encode(std::string_view s);

}  // namespace nyxgate::testing
