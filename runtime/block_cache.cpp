#include "block_cache.h"

#include <atomic>
#include <mutex>
#include <vector>

namespace lppool::detail {
namespace {

RawMalloc raw_malloc = nullptr;
RawFree raw_free = nullptr;

constexpr size_t kLargeBlock = size_t(1) << 20;

struct Block {
    void *ptr;
    size_t size;
};

// The smallest kept block in [first, last) that holds `size` bytes, or last.
template <typename It>
It best_fit(It first, It last, size_t size) {
    It best = last;
    for (It it = first; it != last; ++it) {
        if (it->size >= size && (best == last || it->size < best->size)) best = it;
    }
    return best;
}

// Per thread, without locks: the blocks this thread handed out (so a free
// can tell its own blocks, and their sizes, without reading them) and the
// last few it got back. Case (a), 2048 rows of 16 chunks, allocates 19
// blocks per row (4 distinct sizes).
class SmallBlockCache {
public:
    static constexpr size_t kMaxKeptBytes = kLargeBlock;
    static constexpr size_t kMaxKeptBlocks = 8;
    static constexpr size_t kMaxLive = 32;

    void *allocate(void *user_context, size_t size) {
        Block *const kept_end = kept_ + kept_count_;
        Block *best = best_fit(kept_, kept_end, size);
        Block b{nullptr, size};
        if (best != kept_end) {
            b = *best;
            kept_bytes_ -= b.size;
            *best = kept_[--kept_count_];
        } else {
            b.ptr = raw_malloc(user_context, size);
            if (b.ptr == nullptr) return nullptr;
        }
        track(b);
        return b.ptr;
    }

    // False when `ptr` is not a live block of this thread's.
    bool release(void *user_context, void *ptr) {
        size_t i = 0;
        while (i < live_count_ && live_[i].ptr != ptr) i++;
        if (i == live_count_) return false;
        const Block b = live_[i];
        live_[i] = live_[--live_count_];
        if (b.size > kMaxKeptBytes) {
            raw_free(user_context, b.ptr);
            return true;
        }
        while (kept_count_ == kMaxKeptBlocks || kept_bytes_ + b.size > kMaxKeptBytes) {
            raw_free(user_context, kept_[0].ptr);
            kept_bytes_ -= kept_[0].size;
            kept_[0] = kept_[--kept_count_];
        }
        kept_[kept_count_++] = b;
        kept_bytes_ += b.size;
        return true;
    }

    ~SmallBlockCache() {
        for (size_t i = 0; i < kept_count_; i++) raw_free(nullptr, kept_[i].ptr);
    }

private:
    // A block with no free slot is left untracked: its free then goes
    // straight to the allocator. An address already listed was freed on
    // another thread and is being reused: its entry is replaced.
    void track(const Block &b) {
        for (size_t i = 0; i < live_count_; i++) {
            if (live_[i].ptr == b.ptr) {
                live_[i] = b;
                return;
            }
        }
        if (live_count_ < kMaxLive) live_[live_count_++] = b;
    }

    Block live_[kMaxLive] = {};
    size_t live_count_ = 0;
    Block kept_[kMaxKeptBlocks] = {};
    size_t kept_count_ = 0;
    size_t kept_bytes_ = 0;
};

// Process-wide and under a lock (there are a few per call at most): case
// (f), one row of 2^24, freed two 8 MB rows per call, and glibc handed them
// back to the system and faulted them in again (7.9 ms instead of 3.2 at 2
// threads).
class LargeBlockCache {
public:
    static constexpr size_t kMaxKeptBytes = size_t(256) << 20;
    static constexpr size_t kMaxKeptBlocks = 4;

    void *allocate(void *user_context, size_t size) {
        std::unique_lock<std::mutex> lock(mutex_);
        const auto best = best_fit(kept_.begin(), kept_.end(), size);
        Block b{nullptr, size};
        if (best != kept_.end()) {
            b = *best;
            kept_.erase(best);
            kept_bytes_ -= b.size;
        } else {
            lock.unlock();
            b.ptr = raw_malloc(user_context, size);
            if (b.ptr == nullptr) return nullptr;
            lock.lock();
        }
        track(b);
        return b.ptr;
    }

    // False when `ptr` is not a large block of ours. Every free that is not
    // a small block comes here: the check is a scan of a few atomics, the
    // lock is taken only for our own blocks.
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
        for (void *e : evicted) raw_free(user_context, e);
        return true;
    }

    ~LargeBlockCache() {
        for (const Block &b : kept_) raw_free(nullptr, b.ptr);
    }

private:
    static constexpr size_t kSlots = 16;

    // Under the lock. A block with no free slot is left untracked: its free
    // then goes straight to the allocator.
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

SmallBlockCache &small_blocks() {
    static thread_local SmallBlockCache cache;
    return cache;
}

}  // namespace

void set_block_source(RawMalloc malloc_fn, RawFree free_fn) {
    raw_malloc = malloc_fn;
    raw_free = free_fn;
}

void *allocate_block(void *user_context, size_t size) {
    return size >= kLargeBlock ? large_blocks().allocate(user_context, size)
                               : small_blocks().allocate(user_context, size);
}

void free_block(void *user_context, void *ptr) {
    if (ptr == nullptr) return;
    if (!small_blocks().release(user_context, ptr) && !large_blocks().release(user_context, ptr)) {
        raw_free(user_context, ptr);
    }
}

}  // namespace lppool::detail
