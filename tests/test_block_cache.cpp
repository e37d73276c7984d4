// The kernels' block cache (runtime/block_cache.h) on a counting allocator:
// reuse, best fit, the bounds on what it keeps, frees on another thread, and
// allocation failure. Its own executable: it sets the cache's allocator,
// which LPPool1d's hooks set once per process.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "block_cache.h"

namespace {

using lppool::detail::allocate_block;
using lppool::detail::free_block;

struct CountingAllocator {
    std::mutex mutex;
    std::set<void *> live;
    size_t mallocs = 0, frees = 0;
    bool fail = false;
    bool bad_free = false;  // a free of a block it did not hand out, or twice
};

CountingAllocator &raw() {
    static CountingAllocator a;
    return a;
}

void *counting_malloc(void *, size_t size) {
    CountingAllocator &a = raw();
    std::lock_guard<std::mutex> lock(a.mutex);
    if (a.fail) return nullptr;
    void *p = std::aligned_alloc(128, (size + 127) / 128 * 128);
    a.live.insert(p);
    a.mallocs++;
    return p;
}

void counting_free(void *, void *ptr) {
    CountingAllocator &a = raw();
    std::lock_guard<std::mutex> lock(a.mutex);
    if (a.live.erase(ptr) == 0) {
        a.bad_free = true;
        return;
    }
    a.frees++;
    std::free(ptr);
}

size_t mallocs() {
    std::lock_guard<std::mutex> lock(raw().mutex);
    return raw().mallocs;
}

size_t frees() {
    std::lock_guard<std::mutex> lock(raw().mutex);
    return raw().frees;
}

size_t live_blocks() {
    std::lock_guard<std::mutex> lock(raw().mutex);
    return raw().live.size();
}

// Constructs the counting allocator first, so it outlives the cache's
// process-wide blocks, which go back to it at exit.
struct UseCountingAllocator {
    UseCountingAllocator() {
        raw();
        lppool::detail::set_block_source(counting_malloc, counting_free);
    }
};
const UseCountingAllocator use_counting_allocator;

}  // namespace

// Each case runs on a fresh thread, so it starts with an empty small-block
// cache, and the thread's exit returns what it kept.
template <typename F>
void on_new_thread(F f) {
    std::thread t(f);
    t.join();
}

// Every block a case's threads took from the allocator is back once they
// exited (the process-wide large blocks aside).
struct ExpectAllReturned {
    size_t live_before = live_blocks();
    ~ExpectAllReturned() {
        CHECK(live_blocks() == live_before);
        CHECK_FALSE(raw().bad_free);
    }
};

TEST_CASE("block cache: a freed block serves the next allocation of its size", "[block_cache]") {
    const ExpectAllReturned all_returned;
    on_new_thread([] {
        const size_t before = mallocs();
        void *a = allocate_block(nullptr, 4096);
        free_block(nullptr, a);
        void *b = allocate_block(nullptr, 4096);
        CHECK(b == a);
        CHECK(mallocs() - before == 1);
        free_block(nullptr, b);
    });
}

TEST_CASE("block cache: best fit among the kept blocks", "[block_cache]") {
    const ExpectAllReturned all_returned;
    on_new_thread([] {
        void *big = allocate_block(nullptr, 16384);
        void *small = allocate_block(nullptr, 4096);
        free_block(nullptr, big);
        free_block(nullptr, small);
        const size_t before = mallocs();
        CHECK(allocate_block(nullptr, 4000) == small);
        CHECK(allocate_block(nullptr, 8192) == big);
        void *fresh = allocate_block(nullptr, 100);  // nothing kept is left
        CHECK(mallocs() - before == 1);
        for (void *p : {small, big, fresh}) free_block(nullptr, p);
    });
}

TEST_CASE("block cache: a thread keeps at most 8 blocks and 1 MiB", "[block_cache]") {
    const ExpectAllReturned all_returned;
    on_new_thread([] {
        std::vector<void *> blocks;
        for (int i = 0; i < 12; i++) blocks.push_back(allocate_block(nullptr, 1024));
        const size_t frees_before = frees();
        for (void *p : blocks) free_block(nullptr, p);
        CHECK(frees() - frees_before == 4);  // 12 freed, 8 kept

        blocks.clear();
        for (int i = 0; i < 3; i++) blocks.push_back(allocate_block(nullptr, 600 * 1024));
        const size_t frees_mid = frees();
        for (void *p : blocks) free_block(nullptr, p);
        // One 600 KiB block fits beside the small ones; keeping a second
        // would pass 1 MiB, so each later one evicts.
        CHECK(frees() - frees_mid >= 2);
    });
}

TEST_CASE("block cache: large blocks are kept process-wide (at most 4)", "[block_cache]") {
    std::vector<void *> large;
    on_new_thread([&] {
        for (int i = 0; i < 6; i++) large.push_back(allocate_block(nullptr, size_t(2) << 20));
    });
    const size_t frees_before = frees();
    on_new_thread([&] {
        for (void *p : large) free_block(nullptr, p);  // freed on another thread: still kept
    });
    CHECK(frees() - frees_before == 2);
    const size_t mallocs_before = mallocs();
    void *reused = allocate_block(nullptr, size_t(3) << 19);  // 1.5 MiB: a kept 2 MiB block
    CHECK(mallocs() == mallocs_before);
    CHECK(std::find(large.begin(), large.end(), reused) != large.end());
    free_block(nullptr, reused);
    CHECK_FALSE(raw().bad_free);
}

TEST_CASE("block cache: a small block freed on another thread goes back to the allocator",
          "[block_cache]") {
    const ExpectAllReturned all_returned;
    void *block = nullptr;
    on_new_thread([&] {
        block = allocate_block(nullptr, 2048);
        on_new_thread([&] {
            const size_t before = frees();
            free_block(nullptr, block);
            CHECK(frees() - before == 1);
        });
        // The allocating thread may get the same address again from the
        // allocator; its stale record of it must not break the next free.
        void *again = allocate_block(nullptr, 4096);
        free_block(nullptr, again);
        void *reused = allocate_block(nullptr, 4096);
        CHECK(reused == again);
        free_block(nullptr, reused);
    });
}

TEST_CASE("block cache: allocation failure gives a null block and freeing null does nothing",
          "[block_cache]") {
    on_new_thread([] {
        {
            std::lock_guard<std::mutex> lock(raw().mutex);
            raw().fail = true;
        }
        CHECK(allocate_block(nullptr, 4096) == nullptr);
        CHECK(allocate_block(nullptr, size_t(4) << 20) == nullptr);
        {
            std::lock_guard<std::mutex> lock(raw().mutex);
            raw().fail = false;
        }
        free_block(nullptr, nullptr);
    });
    CHECK_FALSE(raw().bad_free);
}
