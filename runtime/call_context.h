// How kernel errors reach the call that caused them (internal to runtime/).
//
// Halide reports errors through one process-wide handler. Each call passes
// its own CallContext as user_context, so a message lands with the call that
// caused it, whatever thread reports it; other pipelines' errors go to
// whichever handler was installed before ours.
#pragma once

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

namespace lppool::detail {

inline constexpr uint64_t kContextTag = 0x4c50506f6f6c3164ull;  // "LPPool1d"

struct CallContext {
    uint64_t tag = kContextTag;
    std::mutex mutex;
    std::string error;

    std::string take_error() {
        std::lock_guard<std::mutex> lock(mutex);
        std::string e;
        e.swap(error);
        return e;
    }
};

// Installs the routing handler once per process.
void install_error_routing();

// Throws std::runtime_error naming `what` with Halide's message when a
// Halide call returned a nonzero status.
inline void throw_on_status(int status, CallContext &ctx, const std::string &what) {
    if (status != 0) {
        throw std::runtime_error("LPPool1d: " + what + " failed with Halide error " +
                                 std::to_string(status) + ": " + ctx.take_error());
    }
}

}  // namespace lppool::detail
