#pragma once

#include <chrono>
#include <thread>

namespace nyxgate::testing {

/// Polls `condition` every 10 ms until it holds (true) or `limit` passes (false).
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace nyxgate::testing
