#include "app/admin_cli.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "config/config.hpp"

namespace nyxgate::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

/// A usage error: printed with the command's usage, exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Options of the form `--name value` or `--name=value`, and bare `--flag`s. `--section.key`
/// options are configuration (they only choose the default server address).
struct options {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;
  config::parsed_args config;

  static options parse(const std::vector<std::string>& args,
                       const std::vector<std::string>& flags) {
    options out;
    auto split = config::split_args(args);
    out.config.config_file = split.config_file;
    out.config.flags = split.flags;
    const auto& rest = split.rest;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      const auto& arg = rest[i];
      if (!arg.starts_with("--")) {
        out.positional.push_back(arg);
        continue;
      }
      auto eq = arg.find('=');
      auto name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      bool is_flag = std::find(flags.begin(), flags.end(), name) != flags.end();
      if (eq != std::string::npos) {
        out.values[name].push_back(arg.substr(eq + 1));
      } else if (is_flag) {
        out.values[name].push_back("true");
      } else if (i + 1 < rest.size()) {
        out.values[name].push_back(rest[++i]);
      } else {
        throw usage_error("--" + name + " needs a value");
      }
    }
    return out;
  }

  std::optional<std::string> get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second.back();
  }
  std::string required(const std::string& name) const {
    auto v = get(name);
    if (!v || v->empty()) throw usage_error("--" + name + " is required");
    return *v;
  }
  std::vector<std::string> all(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::vector<std::string>{} : it->second;
  }
  void allow_only(std::initializer_list<std::string> names) const {
    for (const auto& [name, _] : values)
      if (std::find(names.begin(), names.end(), name) == names.end())
        throw usage_error("unknown option --" + name);
    if (!positional.empty()) throw usage_error("unexpected argument '" + positional.front() + "'");
  }
};

std::string trim_line_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string read_file_text(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + what + " " + path);
  std::stringstream text;
  text << in.rdbuf();
  return trim_line_end(text.str());
}

/// A running node's control plane: the address and the bearer token to reach it with.
struct node_client {
  std::string host;
  std::string port;
  std::string token;

  static node_client from(const options& o) {
    node_client c;
    std::string url = o.get("url").value_or("");
    if (url.empty()) {
      auto settings =
          config::load(o.config.config_file, config::process_environment(), o.config.flags);
      url = "http://" + settings.server.listen;
    }
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || parsed->scheme() != "http" || parsed->host().empty())
      throw usage_error("--url must be http://host:port, not '" + url + "'");
    c.host = std::string{parsed->encoded_host()};
    c.port = parsed->has_port() ? std::string{parsed->port()} : "80";
    if (auto file = o.get("token-file")) {
      c.token = read_file_text(*file, "token file");
    } else if (const char* env = std::getenv("NYXGATE_TOKEN"); env && *env) {
      c.token = env;
    } else {
      throw usage_error("no token: set NYXGATE_TOKEN or pass --token-file FILE");
    }
    return c;
  }

  /// Calls one tRPC procedure; returns its `data`, or throws with the server's message.
  json::value call(http::verb method, const std::string& procedure,
                   const json::value& input) const {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(30));
    asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host, port));
    std::string target = "/trpc/" + procedure;
    http::request<http::string_body> req;
    if (method == http::verb::get) {
      auto encoded = json::serialize(input);
      boost::urls::url u;
      u.set_path(target);
      u.params().append({"input", encoded});
      target = std::string{u.encoded_target()};
    } else {
      req.body() = json::serialize(input);
      req.set(http::field::content_type, "application/json");
    }
    req.method(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, host);
    req.set(http::field::authorization, "Bearer " + token);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);

    json::value reply;
    try {
      reply = json::parse(res.body());
    } catch (const std::exception&) {
      throw std::runtime_error("the server answered " + std::to_string(res.result_int()) +
                               " without a tRPC body");
    }
    if (const auto* error = reply.is_object() ? reply.as_object().if_contains("error") : nullptr) {
      const auto* message = error->as_object().if_contains("message");
      throw std::runtime_error(
          procedure + ": " +
          (message && message->is_string() ? std::string{message->as_string()} : "failed") + " (" +
          std::to_string(res.result_int()) + ")");
    }
    return reply.at("result").at("data");
  }
};

std::string text_of(const json::value& v) {
  return v.is_string() ? std::string{v.as_string()} : v.is_null() ? "-" : json::serialize(v);
}

constexpr const char* keys_usage =
    R"(usage: nyxgate keys add --provider P --name N [--personal] [--key-file F]
       nyxgate keys list
       nyxgate keys delete --id ID
  common: [--url http://host:port] [--token-file F] [config options]

Manages provider keys through a running node. The key of `add` is read from --key-file or
from standard input (never from the command line, where other users could see it). A tenant
key needs an admin token; --personal adds a key for the token's user alone. The token comes
from NYXGATE_TOKEN or --token-file; the address from --url, else from server.listen.
)";

constexpr const char* defaults_usage = R"(usage: nyxgate defaults get
       nyxgate defaults set [--primary P] [--fallback P|none] [--model P=MODEL ...]
                            [--max-tokens N]
  common: [--url http://host:port] [--token-file F] [config options]

Shows or changes the tenant's LLM defaults through a running node (set needs an admin token):
the primary provider, the fallback provider (`none` removes it), the default model per
provider (other providers' models are kept), and the max_tokens applied when a call sets none.
)";

int run(const char* usage, const std::vector<std::string>& args,
        int (*body)(const std::string& verb, const options& o)) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    }
  try {
    if (args.empty()) throw usage_error("missing subcommand");
    auto o = options::parse({args.begin() + 1, args.end()}, {"personal"});
    return body(args.front(), o);
  } catch (const usage_error& e) {
    std::cerr << "nyxgate: " << e.what() << "\n\n" << usage;
    return 2;
  } catch (const config::config_error& e) {
    std::cerr << "nyxgate: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "nyxgate: " << e.what() << "\n";
    return 1;
  }
}

void print_key(const json::value& k) {
  const auto& o = k.as_object();
  std::cout << text_of(o.at("id")) << "  " << text_of(o.at("provider")) << "  "
            << (o.at("isPersonal").as_bool() ? "personal" : "tenant") << "  "
            << text_of(o.at("status")) << "  …" << text_of(o.at("hint")) << "  "
            << text_of(o.at("name")) << "\n";
}

int keys_body(const std::string& verb, const options& o) {
  if (verb == "add") {
    o.allow_only({"provider", "name", "personal", "key-file", "url", "token-file"});
    auto client = node_client::from(o);
    std::string key;
    if (auto file = o.get("key-file")) {
      key = read_file_text(*file, "key file");
    } else {
      std::getline(std::cin, key);
      key = trim_line_end(key);
    }
    if (key.empty()) throw usage_error("no key: pass --key-file F or the key on standard input");
    json::object input{{"provider", o.required("provider")},
                       {"name", o.required("name")},
                       {"key", key},
                       {"isPersonal", o.get("personal") == "true"}};
    print_key(client.call(http::verb::post, "apiKeys.create", input));
    return 0;
  }
  if (verb == "list") {
    o.allow_only({"url", "token-file"});
    auto keys = node_client::from(o).call(http::verb::get, "apiKeys.list", json::object{});
    for (const auto& k : keys.as_array()) print_key(k);
    return 0;
  }
  if (verb == "delete") {
    o.allow_only({"id", "url", "token-file"});
    node_client::from(o).call(http::verb::post, "apiKeys.delete",
                              json::object{{"id", o.required("id")}});
    std::cout << "deleted " << o.required("id") << "\n";
    return 0;
  }
  throw usage_error("unknown subcommand '" + verb + "'");
}

void print_defaults(const json::value& d) {
  const auto& o = d.as_object();
  std::cout << "primary:    " << text_of(o.at("primary")) << "\n"
            << "fallback:   " << text_of(o.at("fallback")) << "\n"
            << "max_tokens: " << text_of(o.at("maxTokens")) << "\n";
  for (const auto& [provider, model] : o.at("models").as_object())
    std::cout << "model:      " << std::string_view{provider} << "=" << text_of(model) << "\n";
}

int defaults_body(const std::string& verb, const options& o) {
  if (verb == "get") {
    o.allow_only({"url", "token-file"});
    print_defaults(node_client::from(o).call(http::verb::get, "llmDefaults.get", json::object{}));
    return 0;
  }
  if (verb != "set") throw usage_error("unknown subcommand '" + verb + "'");
  o.allow_only({"primary", "fallback", "model", "max-tokens", "url", "token-file"});
  auto client = node_client::from(o);
  json::object input;
  if (auto p = o.get("primary")) input["primary"] = *p;
  if (auto f = o.get("fallback"))
    input["fallback"] = *f == "none" ? json::value(nullptr) : json::value(json::string{*f});
  if (auto m = o.get("max-tokens")) {
    char* end = nullptr;
    long long n = std::strtoll(m->c_str(), &end, 10);
    if (m->empty() || *end != '\0') throw usage_error("--max-tokens must be a number");
    input["maxTokens"] = n;
  }
  if (auto models = o.all("model"); !models.empty()) {
    auto current = client.call(http::verb::get, "llmDefaults.get", json::object{});
    json::object merged = current.at("models").as_object();
    for (const auto& pm : models) {
      auto eq = pm.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == pm.size())
        throw usage_error("--model takes PROVIDER=MODEL, not '" + pm + "'");
      merged[pm.substr(0, eq)] = pm.substr(eq + 1);
    }
    input["models"] = std::move(merged);
  }
  if (input.empty()) throw usage_error("nothing to set");
  print_defaults(client.call(http::verb::post, "llmDefaults.update", input));
  return 0;
}

}  // namespace

int keys_command(const std::vector<std::string>& args) {
  return run(keys_usage, args, keys_body);
}

int defaults_command(const std::vector<std::string>& args) {
  return run(defaults_usage, args, defaults_body);
}

}  // namespace nyxgate::app
