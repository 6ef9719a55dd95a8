#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace nyxgate::net {

/// A pool of threads running one io_context.
class io_runtime {
 public:
  explicit io_runtime(int threads);
  ~io_runtime();
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  boost::asio::io_context& context() { return ctx_; }
  /// Launches the threads; a work guard keeps them alive until stop().
  void start();
  void stop();
  void join();

 private:
  int threads_;
  boost::asio::io_context ctx_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::vector<std::thread> pool_;
};

}  // namespace nyxgate::net
