// LPPool1dStream::process and flush allocate nothing: this program replaces
// the C allocator (which operator new and Halide's default allocator both
// use), streams ten minutes of stereo audio in random block sizes through
// streams of each kind, and requires zero allocations inside the calls.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "lppool1d_stream.h"

extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);
}

namespace {
bool counting = false;
long allocations = 0;
void note() {
    if (counting) allocations++;
}
}  // namespace

extern "C" {
void *malloc(size_t n) {
    note();
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    note();
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    note();
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t alignment, size_t n) {
    note();
    return __libc_memalign(alignment, n);
}
void *memalign(size_t alignment, size_t n) {
    note();
    return __libc_memalign(alignment, n);
}
int posix_memalign(void **out, size_t alignment, size_t n) {
    note();
    *out = __libc_memalign(alignment, n);
    return *out ? 0 : ENOMEM;
}
void free(void *p) { __libc_free(p); }
}

namespace {

template <typename T>
long allocations_while_streaming(double p, int64_t K, int64_t S, bool ceil_mode, int channels,
                                 lppool::StreamLayout layout, int64_t max_block,
                                 int64_t total_frames) {
    lppool::LPPool1dStream<T> stream(p, K, S, ceil_mode, channels, layout, max_block);
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> sample(-1, 1);
    std::uniform_int_distribution<int64_t> size(1, max_block);
    std::vector<T> block(size_t(max_block * channels));
    for (T &v : block) v = T(sample(rng));
    std::vector<T> out(size_t(stream.max_output_frames() * channels));
    std::vector<int64_t> sizes(4096);
    for (int64_t &n : sizes) n = size(rng);

    const long before = allocations;
    counting = true;
    int64_t frames = 0, windows = 0;
    for (size_t i = 0; frames < total_frames; i = (i + 1) % sizes.size()) {
        const auto r = stream.process(block.data(), sizes[i], out.data(), stream.max_output_frames());
        if (!r) {
            counting = false;
            std::printf("FAILED: process returned %s\n", lppool::describe(r.status));
            std::exit(1);
        }
        frames += sizes[i];
        windows += r.frames_out;
    }
    windows += stream.flush(out.data(), stream.max_output_frames()).frames_out;
    counting = false;
    std::printf("  K=%lld S=%lld p=%g C=%d %s %s: %lld frames, %lld windows, %ld allocations\n",
                (long long)K, (long long)S, p, channels,
                layout == lppool::StreamLayout::interleaved ? "interleaved" : "planar",
                sizeof(T) == 4 ? "f32" : "f64", (long long)frames, (long long)windows,
                allocations - before);
    return allocations - before;
}

}  // namespace

int main() {
    // The hook must see allocations, or a zero below would prove nothing.
    counting = true;
    void *probe = std::malloc(64);
    auto *object = new std::vector<int>(100);
    counting = false;
    delete object;
    std::free(probe);
    if (allocations < 2) {
        std::printf("FAILED: the allocation hook saw %ld of 2 allocations\n", allocations);
        return 1;
    }
    allocations = 0;

    using lppool::StreamLayout;
    const int64_t ten_minutes = int64_t(48000) * 600;
    long total = 0;
    total += allocations_while_streaming<float>(2.0, 1024, 512, false, 2, StreamLayout::interleaved, 1024, ten_minutes);
    total += allocations_while_streaming<float>(2.0, 480, 240, true, 2, StreamLayout::planar, 128, ten_minutes / 10);
    total += allocations_while_streaming<float>(2.5, 16, 1, true, 9, StreamLayout::interleaved, 64, ten_minutes / 100);
    total += allocations_while_streaming<double>(1.0, 7, 10, true, 1, StreamLayout::planar, 33, ten_minutes / 100);
    total += allocations_while_streaming<float>(3.0, 4, 4, false, 64, StreamLayout::interleaved, 256, ten_minutes / 100);
    if (total != 0) {
        std::printf("FAILED: %ld allocations inside process/flush\n", total);
        return 1;
    }
    std::printf("OK: no allocations inside process/flush\n");
    return 0;
}
