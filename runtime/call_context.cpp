#include "call_context.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "HalideRuntime.h"
#include "block_cache.h"
#include "lppool1d.h"

namespace lppool::detail {
namespace {

halide_error_handler_t previous_error_handler = nullptr;

extern "C" void route_halide_error(void *user_context, const char *message) {
    auto *ctx = static_cast<CallContext *>(user_context);
    if (ctx != nullptr && ctx->tag == kContextTag) {
        std::lock_guard<std::mutex> lock(ctx->mutex);
        ctx->error += message;
        return;
    }
    if (previous_error_handler != nullptr) {
        previous_error_handler(user_context, message);
    } else {
        std::fputs(message, stderr);
        std::abort();
    }
}

halide_do_par_for_t previous_do_par_for = nullptr;
std::atomic<ParallelLoop> host_parallel_loop{nullptr};

constexpr size_t kArenaAlignment = 128;  // what halide_malloc guarantees and vector loads like

CallContext *as_context(void *user_context) {
    auto *ctx = static_cast<CallContext *>(user_context);
    return ctx != nullptr && ctx->tag == kContextTag ? ctx : nullptr;
}

extern "C" void *route_halide_malloc(void *user_context, size_t size) {
    CallContext *ctx = as_context(user_context);
    if (ctx == nullptr || ctx->arena == nullptr) {
        return allocate_block(user_context, size);
    }
    Arena &a = *ctx->arena;
    const size_t rounded = (size + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    if (a.measuring) {
        a.used += rounded;
        a.high_water = std::max(a.high_water, a.used);
        return allocate_block(user_context, size);
    }
    if (rounded > a.capacity - a.used) {
        return nullptr;  // the kernel reports out-of-memory; the caller gets a status
    }
    void *p = a.base + a.used;
    a.used += rounded;
    a.high_water = std::max(a.high_water, a.used);
    return p;
}

extern "C" void route_halide_free(void *user_context, void *ptr) {
    CallContext *ctx = as_context(user_context);
    if (ctx != nullptr && ctx->arena != nullptr && !ctx->arena->measuring) {
        const Arena &a = *ctx->arena;
        if (ptr >= a.base && ptr < a.base + a.capacity) {
            return;  // released with the arena
        }
    }
    free_block(user_context, ptr);
}

// One Halide parallel loop handed to a host's loop: the first failing task's
// status is kept, and the tasks not yet started are skipped.
struct HostLoopCall {
    void *user_context;
    halide_task_t task;
    int min;
    uint8_t *closure;
    std::atomic<int> status{0};

    static void run_task(void *state, int i) {
        auto &call = *static_cast<HostLoopCall *>(state);
        if (call.status.load(std::memory_order_relaxed) != 0) {
            return;
        }
        if (int s = call.task(call.user_context, call.min + i, call.closure); s != 0) {
            int expected = 0;
            call.status.compare_exchange_strong(expected, s);
        }
    }
};

extern "C" int route_halide_do_par_for(void *user_context, halide_task_t task, int min, int size,
                                       uint8_t *closure) {
    CallContext *ctx = as_context(user_context);
    if (ctx != nullptr && ctx->run_serially) {
        return run_tasks_in_order(user_context, task, min, size, closure);
    }
    ParallelLoop loop = host_parallel_loop.load(std::memory_order_acquire);
    if (loop == nullptr) {
        return previous_do_par_for(user_context, task, min, size, closure);
    }
    HostLoopCall call{user_context, task, min, closure};
    loop(size, &HostLoopCall::run_task, &call);
    return call.status.load();
}

}  // namespace

void Arena::reserve(size_t bytes) {
    storage.assign(bytes + kArenaAlignment, 0);
    const auto address = reinterpret_cast<uintptr_t>(storage.data());
    base = storage.data() + (kArenaAlignment - address % kArenaAlignment) % kArenaAlignment;
    capacity = bytes;
    used = 0;
    measuring = false;
}

void install_kernel_hooks() {
    static std::once_flag once;
    std::call_once(once, [] {
        set_block_source(halide_set_custom_malloc(route_halide_malloc),
                         halide_set_custom_free(route_halide_free));
        previous_do_par_for = halide_set_custom_do_par_for(route_halide_do_par_for);
    });
}

void install_error_routing() {
    static std::once_flag once;
    std::call_once(once, [] { previous_error_handler = halide_set_error_handler(route_halide_error); });
}

}  // namespace lppool::detail

namespace lppool {

void set_parallel_loop(ParallelLoop loop) {
    detail::install_kernel_hooks();
    detail::host_parallel_loop.store(loop, std::memory_order_release);
}

}  // namespace lppool
