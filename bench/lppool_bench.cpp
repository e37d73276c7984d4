// LPPool1d benchmarks (Google Benchmark): our kernels, the hand-written
// OpenMP loops (plain_loops.h) and the copy of each case's bytes, Halide's
// autoschedulers on the same algorithm, and the roofline probes (read-only
// reduction, copy) over a buffer larger than the last-level cache, at 1 and
// 2 threads (one process each, see bench/run.sh). bench/report.py joins this
// with PyTorch's timings.
//
// Each benchmark is one kernel call per iteration, 10 repetitions, with a
// warm-up call first; the JSON carries min and median of the repetitions and
// the counters `bytes` (moved by the case) and `elements` (input elements).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "HalideBuffer.h"
#include "benchmark_cases.h"
#include "lppool1d.h"
#include "lppool_bench_copy.h"
#include "lppool_bench_read_sum.h"
#include "plain_loops.h"
#ifdef LPPOOL_BENCH_HAS_Adams2019
#include "lppool1d_backward_f32_adams2019.h"
#include "lppool1d_forward_f32_adams2019.h"
#endif

namespace {

using Halide::Runtime::Buffer;
using lppool_bench::Case;
using lppool_bench::bytes_moved;
using lppool_bench::cases;
using lppool_bench::output_length;

// Buffers are (L, C, N), or channels-last (C innermost) when the case says so.
template <typename T>
Buffer<T> make_buffer(const Case &c, int64_t length) {
    std::vector<int> sizes = {int(length), int(c.C), int(c.N)};
    std::vector<int> order = c.channels_last ? std::vector<int>{1, 0, 2} : std::vector<int>{0, 1, 2};
    return Buffer<T>(sizes, order);
}

template <typename T>
T from_float(float v) {
    if constexpr (std::is_same_v<T, lppool::float16>) {
        return lppool::to_float16(v);
    } else if constexpr (std::is_same_v<T, lppool::bfloat16>) {
        return lppool::to_bfloat16(v);
    } else {
        return T(v);
    }
}

template <typename T>
struct CaseData {
    Buffer<T> x, y, dy, dx;
};

// One set of buffers per case, filled once, shared by every benchmark of it.
template <typename T>
CaseData<T> &data_for(const Case &c) {
    static std::map<std::string, std::unique_ptr<CaseData<T>>> cache;
    auto &slot = cache[c.id];
    if (!slot) {
        slot = std::make_unique<CaseData<T>>();
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> dist(-2, 2);
        slot->x = make_buffer<T>(c, c.L);
        slot->x.for_each_value([&](T &v) { v = from_float<T>(dist(rng)); });
        slot->y = make_buffer<T>(c, output_length(c));
        slot->dy = make_buffer<T>(c, output_length(c));
        slot->dy.for_each_value([&](T &v) { v = from_float<T>(dist(rng)); });
        slot->dx = make_buffer<T>(c, c.L);
        lppool::LPPool1d(c.p, c.K, c.S).forward(slot->x, slot->y);
    }
    return *slot;
}

// Runs `call` once to warm up, then once per iteration. The thread count is
// the process's (HL_NUM_THREADS, set by bench/run.sh): Halide 14 cannot lower
// it once workers have started; `threads` only labels the result.
void run_timed(benchmark::State &state, const Case &c, int threads,
               const std::function<void()> &call) {
    call();
    for (auto _ : state) {
        call();
    }
    state.counters["bytes"] = double(bytes_moved(c));
    state.counters["elements"] = double(c.N * c.C * c.L);
    state.counters["threads"] = threads;
}

template <typename T>
void bench_ours(benchmark::State &state, Case c, int threads) {
    auto &d = data_for<T>(c);
    lppool::LPPool1d pool(c.p, c.K, c.S);
    if (c.backward) {
        run_timed(state, c, threads, [&] { pool.backward(d.x, d.y, d.dy, d.dx); });
    } else {
        run_timed(state, c, threads, [&] { pool.forward(d.x, d.y); });
    }
}

template <typename T>
plain_loops::View<T> view_of(const Buffer<T> &b) {
    return {const_cast<T *>(b.data()),
            {b.dim(0).extent(), b.dim(1).extent(), b.dim(2).extent()},
            {b.dim(0).stride(), b.dim(1).stride(), b.dim(2).stride()}};
}

template <typename T>
plain_loops::View<const T> cview_of(const Buffer<T> &b) {
    auto v = view_of(b);
    return {v.data, {v.extent[0], v.extent[1], v.extent[2]}, {v.stride[0], v.stride[1], v.stride[2]}};
}

// The plain loop's result must be ours to float rounding (it has no
// overflow rescue; the cases' data never needs one), or its time means
// nothing.
template <typename T>
bool agrees(const Buffer<T> &plain, const Buffer<T> &ours) {
    bool ok = true;
    ours.for_each_element([&](const int *pos) {
        const double a = plain(pos), b = ours(pos);
        ok = ok && std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b));
    });
    return ok;
}

// The loop a performance-minded user writes (plain_loops.h), at the same
// thread count.
template <typename T>
void bench_plain(benchmark::State &state, Case c, int threads) {
    auto &d = data_for<T>(c);
    if (c.backward) {
        Buffer<T> dx = make_buffer<T>(c, c.L);
        auto call = [&] {
            plain_loops::backward(cview_of(d.x), cview_of(d.y), cview_of(d.dy), view_of(dx), c.p,
                                  c.K, c.S, threads);
        };
        call();
        lppool::LPPool1d(c.p, c.K, c.S).backward(d.x, d.y, d.dy, d.dx);
        if (!agrees(dx, d.dx)) {
            state.SkipWithError("the plain backward disagrees with ours");
            return;
        }
        run_timed(state, c, threads, call);
    } else {
        Buffer<T> y = make_buffer<T>(c, output_length(c));
        auto call = [&] { plain_loops::forward(cview_of(d.x), view_of(y), c.p, c.K, c.S, threads); };
        call();
        if (!agrees(y, d.y)) {
            state.SkipWithError("the plain forward disagrees with ours");
            return;
        }
        run_timed(state, c, threads, call);
    }
}

// The case's bytes moved by a plain copy without its arithmetic
// (plain_loops::deinterleave / scatter): the practical floor.
template <typename T>
void bench_floor(benchmark::State &state, Case c, int threads) {
    auto &d = data_for<T>(c);
    if (c.backward) {
        Buffer<T> dx = make_buffer<T>(c, c.L);
        run_timed(state, c, threads, [&] {
            plain_loops::scatter(cview_of(d.x), cview_of(d.dy), view_of(dx), c.S, threads);
        });
    } else {
        Buffer<T> y = make_buffer<T>(c, output_length(c));
        run_timed(state, c, threads,
                  [&] { plain_loops::deinterleave(cview_of(d.x), view_of(y), c.S, threads); });
    }
}

#ifdef LPPOOL_BENCH_HAS_Adams2019
void bench_adams2019(benchmark::State &state, Case c, int threads) {
    auto &d = data_for<float>(c);
    const int K = int(c.K), S = int(c.S);
    if (c.backward) {
        run_timed(state, c, threads, [&] {
            lppool1d_backward_f32_adams2019(nullptr, d.x.raw_buffer(), d.y.raw_buffer(), d.dy.raw_buffer(),
                                            c.p, K, S, d.dx.raw_buffer());
        });
    } else {
        run_timed(state, c, threads, [&] {
            lppool1d_forward_f32_adams2019(nullptr, d.x.raw_buffer(), c.p, K, S, d.y.raw_buffer());
        });
    }
}
#endif

// Roofline probes: one buffer of kProbeBytes (8x this machine's 32 MiB last
// level cache, so no pass is served from it), in rows of 16384 floats. The
// probes run beside every case; bench/report.py takes the best of them per
// thread count, which is stable where one probe per case was not.
constexpr int64_t kProbeBytes = int64_t(256) << 20;

Buffer<float> &probe_buffer() {
    static Buffer<float> b;
    if (!b.data()) {
        const int row = 16384;
        b = Buffer<float>(row, int(kProbeBytes / 4 / row));
        b.fill(1.0f);
    }
    return b;
}

void bench_read(benchmark::State &state, Case c, int threads) {
    Buffer<float> &in = probe_buffer();
    Buffer<float> partial(64, in.dim(1).extent());
    run_timed(state, c, threads, [&] { lppool_bench_read_sum(nullptr, in.raw_buffer(), partial.raw_buffer()); });
    state.counters["probe_bytes"] = double(in.size_in_bytes());
}

void bench_copy(benchmark::State &state, Case c, int threads) {
    Buffer<float> &in = probe_buffer();
    static Buffer<float> out(in.dim(0).extent(), in.dim(1).extent());
    run_timed(state, c, threads, [&] { lppool_bench_copy(nullptr, in.raw_buffer(), out.raw_buffer()); });
    state.counters["probe_bytes"] = double(2 * in.size_in_bytes());
}

// Validation and dispatch without kernel work: the shape check alone.
void bench_validation(benchmark::State &state) {
    const Case &c = cases().back();
    auto &d = data_for<float>(c);
    const lppool::PoolParams params = lppool::make_pool_params(c.p, c.K, c.S, false);
    for (auto _ : state) {
        lppool::check_forward(params, *d.x.raw_buffer(), *d.y.raw_buffer());
        benchmark::ClobberMemory();
    }
}

double min_of(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }

benchmark::internal::Benchmark *configure(benchmark::internal::Benchmark *b) {
    return b->Iterations(1)->Repetitions(10)->UseRealTime()->Unit(benchmark::kMillisecond)
        ->ComputeStatistics("min", min_of)->ReportAggregatesOnly(true);
}

void register_all() {
    for (const Case &c : cases()) {
        for (int threads : {1, 2}) {
            const std::string t = "/threads:" + std::to_string(threads);
            if (c.half != lppool_bench::Half::none) {
                // Our kernels and the bandwidth probes only: no plain loop in 16 bits.
                configure(benchmark::RegisterBenchmark(
                    ("ours/" + c.id + t).c_str(),
                    c.half == lppool_bench::Half::float16 ? bench_ours<lppool::float16>
                                                          : bench_ours<lppool::bfloat16>,
                    c, threads));
                configure(benchmark::RegisterBenchmark(("roofline_read/" + c.id + t).c_str(), bench_read, c, threads));
                configure(benchmark::RegisterBenchmark(("copy/" + c.id + t).c_str(), bench_copy, c, threads));
                continue;
            }
            if (c.f64) {
                configure(benchmark::RegisterBenchmark(("ours/" + c.id + t).c_str(), bench_ours<double>, c, threads));
            } else {
                configure(benchmark::RegisterBenchmark(("ours/" + c.id + t).c_str(), bench_ours<float>, c, threads));
            }
            configure(benchmark::RegisterBenchmark(("roofline_read/" + c.id + t).c_str(), bench_read, c, threads));
            configure(benchmark::RegisterBenchmark(("copy/" + c.id + t).c_str(), bench_copy, c, threads));
            // The floor reads every cache line of x only where windows
            // start at most a line apart.
            const bool floor_reads_all = c.S * (c.f64 ? 8 : 4) <= 64;
            if (c.f64) {
                configure(benchmark::RegisterBenchmark(("plain/" + c.id + t).c_str(), bench_plain<double>, c, threads));
                if (floor_reads_all) {
                    configure(benchmark::RegisterBenchmark(("floor/" + c.id + t).c_str(), bench_floor<double>, c, threads));
                }
            } else {
                configure(benchmark::RegisterBenchmark(("plain/" + c.id + t).c_str(), bench_plain<float>, c, threads));
                if (floor_reads_all) {
                    configure(benchmark::RegisterBenchmark(("floor/" + c.id + t).c_str(), bench_floor<float>, c, threads));
                }
            }
#ifdef LPPOOL_BENCH_HAS_Adams2019
            // Its schedule is fitted to the generator's estimates (N=32,
            // C=64, L=16384): on case (f) it reads input channel -3, on (nn)
            // element -256, and Halide stops the process, so it runs only on
            // shapes of that size.
            if (!c.f64 && !c.channels_last && c.N == 32 && c.C == 64 && c.L == 16384) {
                configure(benchmark::RegisterBenchmark(("adams2019/" + c.id + t).c_str(), bench_adams2019, c, threads));
            }
#endif
        }
    }
    benchmark::RegisterBenchmark("validation/j", bench_validation)->Repetitions(10)->ComputeStatistics("min", min_of)
        ->ReportAggregatesOnly(true)->Unit(benchmark::kNanosecond);

    // Size sweep: K = S = 4, p = 2, from L1-resident to DRAM-sized inputs,
    // and K independence at a fixed size.
    for (int64_t log2_elems = 10; log2_elems <= 27; log2_elems++) {
        const int64_t elems = int64_t(1) << log2_elems;
        const int64_t L = std::min<int64_t>(elems, 16384);
        Case c{"sweep_" + std::to_string(elems), 1, elems / L, L, 4, 4, 2.0};
        configure(benchmark::RegisterBenchmark(("sweep/" + std::to_string(elems) + "/threads:2").c_str(),
                                               bench_ours<float>, c, 2));
    }
    for (int64_t K : {2, 4, 8, 16, 64, 256}) {
        Case c{"kscan_" + std::to_string(K), 32, 64, 16384, K, K, 2.0};
        configure(benchmark::RegisterBenchmark(("kscan/" + std::to_string(K) + "/threads:2").c_str(),
                                               bench_ours<float>, c, 2));
    }
}

}  // namespace

int main(int argc, char **argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
