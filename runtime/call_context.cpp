#include "call_context.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "HalideRuntime.h"

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

halide_malloc_t previous_malloc = nullptr;
halide_free_t previous_free = nullptr;
halide_do_par_for_t previous_do_par_for = nullptr;

constexpr size_t kArenaAlignment = 128;  // what halide_malloc guarantees and vector loads like

CallContext *as_context(void *user_context) {
    auto *ctx = static_cast<CallContext *>(user_context);
    return ctx != nullptr && ctx->tag == kContextTag ? ctx : nullptr;
}

// Large intermediates (a long row's values in a few-row call: megabytes)
// freed and allocated again on every call let glibc hand the memory back to
// the system and fault it in again: case (f), one row of 2^24, ran 7.9 ms
// instead of 3.2 at 2 threads. The last blocks freed are kept for the next
// calls, process-wide and under a lock (there are a few per call at most).
class LargeBlockCache {
public:
    static constexpr size_t kLargeBlock = size_t(1) << 20;
    static constexpr size_t kMaxKeptBytes = size_t(256) << 20;
    static constexpr size_t kMaxKeptBlocks = 4;

    void *allocate(void *user_context, size_t size) {
        std::unique_lock<std::mutex> lock(mutex_);
        auto best = kept_.end();
        for (auto it = kept_.begin(); it != kept_.end(); ++it) {
            if (it->size >= size && (best == kept_.end() || it->size < best->size)) best = it;
        }
        Block b{nullptr, size};
        if (best != kept_.end()) {
            b = *best;
            kept_.erase(best);
            kept_bytes_ -= b.size;
        } else {
            lock.unlock();
            b.ptr = previous_malloc(user_context, size);
            if (b.ptr == nullptr) return nullptr;
            lock.lock();
        }
        track(b);
        return b.ptr;
    }

    // False when `ptr` is not a large block of ours (the caller frees it).
    // Every free of the kernels comes here: the check is a scan of a few
    // atomics, the lock is taken only for our own blocks.
    bool release(void *user_context, void *ptr) {
        if (ptr == nullptr) return false;
        size_t slot = 0;
        while (slot < kSlots && live_[slot].load(std::memory_order_acquire) != ptr) slot++;
        if (slot == kSlots) return false;
        std::vector<void *> evicted;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            const Block b{ptr, live_size_[slot]};
            live_[slot].store(nullptr, std::memory_order_release);
            if (b.size > kMaxKeptBytes) {
                evicted.push_back(b.ptr);
            } else {
                kept_.push_back(b);
                kept_bytes_ += b.size;
                while (kept_.size() > kMaxKeptBlocks || kept_bytes_ > kMaxKeptBytes) {
                    evicted.push_back(kept_.front().ptr);
                    kept_bytes_ -= kept_.front().size;
                    kept_.erase(kept_.begin());
                }
            }
        }
        for (void *e : evicted) previous_free(user_context, e);
        return true;
    }

    ~LargeBlockCache() {
        for (const Block &b : kept_) previous_free(nullptr, b.ptr);
    }

private:
    struct Block {
        void *ptr;
        size_t size;
    };
    static constexpr size_t kSlots = 16;

    // Under the lock. A block with no free slot is left untracked: its free
    // then goes straight to the previous handler.
    void track(const Block &b) {
        for (size_t i = 0; i < kSlots; i++) {
            if (live_[i].load(std::memory_order_relaxed) == nullptr) {
                live_size_[i] = b.size;
                live_[i].store(b.ptr, std::memory_order_release);
                return;
            }
        }
    }

    std::mutex mutex_;
    std::atomic<void *> live_[kSlots] = {};  // handed out
    size_t live_size_[kSlots] = {};          // their capacities (under the lock)
    std::vector<Block> kept_;                // freed, oldest first
    size_t kept_bytes_ = 0;
};

LargeBlockCache &large_blocks() {
    static LargeBlockCache cache;
    return cache;
}

extern "C" void *route_halide_malloc(void *user_context, size_t size) {
    CallContext *ctx = as_context(user_context);
    if (ctx == nullptr || ctx->arena == nullptr) {
        return size >= LargeBlockCache::kLargeBlock ? large_blocks().allocate(user_context, size)
                                                    : previous_malloc(user_context, size);
    }
    Arena &a = *ctx->arena;
    const size_t rounded = (size + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    if (a.measuring) {
        a.used += rounded;
        a.high_water = std::max(a.high_water, a.used);
        return previous_malloc(user_context, size);
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
    if (!large_blocks().release(user_context, ptr)) {
        previous_free(user_context, ptr);
    }
}

extern "C" int route_halide_do_par_for(void *user_context, halide_task_t task, int min, int size,
                                       uint8_t *closure) {
    CallContext *ctx = as_context(user_context);
    if (ctx == nullptr || !ctx->run_serially) {
        return previous_do_par_for(user_context, task, min, size, closure);
    }
    for (int i = min; i < min + size; i++) {
        if (int status = task(user_context, i, closure); status != 0) {
            return status;
        }
    }
    return 0;
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
        previous_malloc = halide_set_custom_malloc(route_halide_malloc);
        previous_free = halide_set_custom_free(route_halide_free);
        previous_do_par_for = halide_set_custom_do_par_for(route_halide_do_par_for);
    });
}

void install_error_routing() {
    static std::once_flag once;
    std::call_once(once, [] { previous_error_handler = halide_set_error_handler(route_halide_error); });
}

}  // namespace lppool::detail
