#pragma once

#include <memory>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "storage/database.hpp"

namespace nyxgate::storage {

/// Runs a batch from a coroutine: the reply is posted back onto the coroutine's executor, so
/// the coroutine never resumes on a storage thread.
inline boost::asio::awaitable<db_reply> async_execute(database& db, db_batch batch) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(db_reply)>(
      [&db](auto handler, db_batch b) {
        auto ex = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        db.execute(std::move(b), [shared, ex](db_reply reply) {
          boost::asio::post(
              ex, [shared, reply = std::move(reply)]() mutable { (*shared)(std::move(reply)); });
        });
      },
      boost::asio::use_awaitable, std::move(batch));
}

}  // namespace nyxgate::storage
