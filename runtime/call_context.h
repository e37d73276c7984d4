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
#include <vector>

namespace lppool::detail {

inline constexpr uint64_t kContextTag = 0x4c50506f6f6c3164ull;  // "LPPool1d"

// Memory handed to the kernels of calls that must not allocate (streaming):
// Halide's heap allocations for such a call are carved from `storage` and
// released all at once by the next reset. While `measuring`, they come from
// the ordinary allocator and `high_water` records how much a call needed.
struct Arena {
    std::vector<uint8_t> storage;
    uint8_t *base = nullptr;  // storage, aligned
    size_t capacity = 0;
    size_t used = 0;
    size_t high_water = 0;
    bool measuring = true;

    void reserve(size_t bytes);
    void reset() { used = 0; }
};

struct CallContext {
    uint64_t tag = kContextTag;
    std::mutex mutex;
    std::string error;
    Arena *arena = nullptr;     // allocations from here instead of the heap
    bool run_serially = false;  // parallel loops run on the calling thread,
                                // without Halide's thread pool (and its locks)

    std::string take_error() {
        std::lock_guard<std::mutex> lock(mutex);
        std::string e;
        e.swap(error);
        return e;
    }
};

// Runs tasks [min, min + size) of a Halide parallel loop in order on the
// calling thread, stopping at the first nonzero status, which it returns. A
// template over the user context, so a JIT pipeline's handler (lppool-tune)
// is this loop too.
template <typename UserContext>
int run_tasks_in_order(UserContext *user_context, int (*task)(UserContext *, int, uint8_t *),
                       int min, int size, uint8_t *closure) {
    for (int i = min; i < min + size; i++) {
        if (int status = task(user_context, i, closure); status != 0) {
            return status;
        }
    }
    return 0;
}

// Installs the routing handler once per process.
void install_error_routing();

// Installs, once per process, Halide malloc/free/do_par_for handlers that
// honour a CallContext's `arena` and `run_serially`, run other parallel
// loops on the host's loop where lppool::set_parallel_loop gave one, and
// otherwise allocate through block_cache.h (freed blocks kept for the next
// allocations) from the handlers that were installed before.
void install_kernel_hooks();

}  // namespace lppool::detail

struct halide_buffer_t;
namespace lppool {
struct PoolParams;
}

namespace lppool::detail {

// Runs the CPU forward kernel on rank-3 views (L, C, N), choosing the variant
// as LPPool1d does, without validating anything: for callers (the streaming
// runtime) that have checked shapes up front. Returns Halide's status.
int run_cpu_forward(const PoolParams &params, halide_buffer_t &x3, halide_buffer_t &y3,
                    CallContext &ctx) noexcept;

// Throws std::runtime_error naming `what` with Halide's message when a
// Halide call returned a nonzero status.
inline void throw_on_status(int status, CallContext &ctx, const std::string &what) {
    if (status != 0) {
        throw std::runtime_error("LPPool1d: " + what + " failed with Halide error " +
                                 std::to_string(status) + ": " + ctx.take_error());
    }
}

}  // namespace lppool::detail
