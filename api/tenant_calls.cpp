#include "api/tenant_calls.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <caf/send.hpp>

namespace nyxgate::api {

namespace asio = boost::asio;

namespace {

/// Wraps an actor call whose reply comes through a `reply_sink<T>` into an awaitable.
template <class T, class Send>
asio::awaitable<T> through_sink(T if_dropped, Send send) {
  return asio::async_initiate<const asio::use_awaitable_t<>, void(T)>(
      [send = std::move(send), if_dropped = std::move(if_dropped)](auto handler) mutable {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto sink = std::make_shared<actors::reply_sink<T>>(
            [shared, ex](T value) {
              asio::post(ex, [shared, value = std::move(value)]() mutable {
                (*shared)(std::move(value));
              });
            },
            std::move(if_dropped));
        send(std::move(sink));
      },
      asio::use_awaitable);
}

actors::resolve_answer gone() {
  actors::resolve_answer a;
  a.error = "tenant actor unavailable";
  return a;
}

}  // namespace

asio::awaitable<actors::resolve_answer> ask_resolve(actors::tenant_actor tenant,
                                                    actors::resolve_query query) {
  return through_sink<actors::resolve_answer>(
      gone(), [tenant, query = std::move(query)](actors::resolve_sink sink) {
        caf::anon_send(tenant, actors::resolve_atom_v, query, std::move(sink));
      });
}

asio::awaitable<std::vector<std::string>> ask_models(actors::tenant_actor tenant,
                                                     std::string user_id) {
  return through_sink<std::vector<std::string>>(
      {}, [tenant, user_id = std::move(user_id)](actors::models_sink sink) {
        caf::anon_send(tenant, actors::models_atom_v, user_id, std::move(sink));
      });
}

asio::awaitable<std::string> ask_reload(actors::tenant_actor tenant) {
  return through_sink<std::string>("tenant actor unavailable", [tenant](actors::done_sink sink) {
    caf::anon_send(tenant, actors::reload_atom_v, std::move(sink));
  });
}

asio::awaitable<actors::resolve_answer> ask_echo(actors::echo_actor echo,
                                                 actors::resolve_query query) {
  return through_sink<actors::resolve_answer>(
      gone(), [echo, query = std::move(query)](actors::resolve_sink sink) {
        caf::anon_send(echo, actors::ping_atom_v, query, std::move(sink));
      });
}

}  // namespace nyxgate::api
