// Reliability: one LPPool1d shared by 8 threads gives exactly the serial
// results, as does a host's parallel loop in place of Halide's pool; and the
// edge semantics (non-finite and subnormal inputs, extreme p, K = 1, K = L,
// gaps, L = 1 with ceil_mode, K = 2^20) against the float64 reference.
#include <catch2/catch.hpp>

#include <atomic>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "grid_checks.h"

using test::Layout;

namespace {

// One job of the threads test: a shape, a dtype and a pass.
struct Job {
    Layout layout;
    int64_t N, C, L;
    bool f64;
    bool backward;
};

template <typename T>
std::vector<T> run_job(const lppool::LPPool1d &pool, const Job &job, uint32_t seed) {
    std::mt19937 rng(seed);
    auto x = test::make_tensor<T>(job.layout, 3, job.N, job.C, job.L);
    test::fill_random(x, rng);
    const int64_t out = pool.output_length(job.L);
    auto y = test::make_tensor<T>(job.layout, 3, job.N, job.C, out);
    pool.forward(x.buffer, y.buffer);
    if (!job.backward) {
        return y.storage;
    }
    auto dy = test::make_tensor<T>(job.layout, 3, job.N, job.C, out);
    test::fill_random(dy, rng, -1, 1);
    auto dx = test::make_tensor<T>(job.layout, 3, job.N, job.C, job.L);
    pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
    return dx.storage;
}

// run_job's result as bytes, in the job's dtype.
std::vector<uint8_t> run_job_bytes(const lppool::LPPool1d &pool, const Job &job, uint32_t seed) {
    auto as_bytes = [](const auto &v) {
        const auto *p = reinterpret_cast<const uint8_t *>(v.data());
        return std::vector<uint8_t>(p, p + v.size() * sizeof(v[0]));
    };
    return job.f64 ? as_bytes(run_job<double>(pool, job, seed))
                   : as_bytes(run_job<float>(pool, job, seed));
}

}  // namespace

TEST_CASE("one LPPool1d used from 8 threads gives the serial results", "[threads]") {
    const lppool::LPPool1d pool(2.5, 5, 3, true);
    const std::vector<Job> jobs = {
        {Layout::NCL, 4, 8, 1001, false, false}, {Layout::NLC, 2, 16, 777, true, false},
        {Layout::Strided, 3, 3, 500, false, true}, {Layout::NCL, 1, 1, 40003, true, true},
        {Layout::NLC, 9, 12, 64, false, true},   {Layout::NCL, 16, 4, 2048, true, false},
    };
    // Serial answers first, as bytes, per job.
    std::vector<std::vector<uint8_t>> serial;
    for (size_t j = 0; j < jobs.size(); j++) {
        serial.push_back(run_job_bytes(pool, jobs[j], uint32_t(j)));
    }
    constexpr int kThreads = 8, kIterations = 40;
    std::atomic<int> mismatches{0}, runs{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kIterations; i++) {
                const size_t j = size_t(t * 7 + i) % jobs.size();
                if (run_job_bytes(pool, jobs[j], uint32_t(j)) != serial[j]) mismatches++;
                runs++;
            }
        });
    }
    for (auto &th : threads) th.join();
    CHECK(runs == kThreads * kIterations);
    CHECK(mismatches == 0);
}

namespace {

std::atomic<int> host_loop_tasks{0};

// A host's parallel loop as lppool::set_parallel_loop allows: its own three
// threads, each taking every third index, from the last index down.
void three_thread_loop(int n, void (*body)(void *state, int i), void *state) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; t++) {
        threads.emplace_back([=] {
            for (int i = n - 1 - t; i >= 0; i -= 3) {
                body(state, i);
                host_loop_tasks++;
            }
        });
    }
    for (auto &th : threads) th.join();
}

}  // namespace

TEST_CASE("a host's parallel loop runs the kernels' loops with the same results", "[threads]") {
    const lppool::LPPool1d pool(2.5, 5, 3, true);
    // Inputs past the serial threshold, so the kernels' loops are parallel.
    // (No float64 rows backward of many rows: its AVX2 code has an encoding
    // valgrind 3.19 cannot decode, and scripts/reliability.sh runs [threads]
    // under valgrind.)
    const std::vector<Job> jobs = {
        {Layout::NCL, 8, 8, 2201, false, false}, {Layout::NLC, 4, 16, 2201, true, false},
        {Layout::NCL, 8, 8, 2201, false, true},  {Layout::Strided, 8, 8, 2201, false, true},
        {Layout::NLC, 4, 16, 2201, true, true},
    };
    auto run_all = [&] {
        std::vector<std::vector<uint8_t>> out;
        for (size_t j = 0; j < jobs.size(); j++) {
            out.push_back(run_job_bytes(pool, jobs[j], uint32_t(j)));
        }
        return out;
    };
    const auto on_halide_pool = run_all();
    host_loop_tasks = 0;
    lppool::set_parallel_loop(&three_thread_loop);
    const auto on_host_loop = run_all();
    const int tasks = host_loop_tasks;
    lppool::set_parallel_loop(nullptr);
    CHECK(tasks > 0);
    for (size_t j = 0; j < jobs.size(); j++) {
        INFO("job " << j);
        CHECK(on_host_loop[j] == on_halide_pool[j]);
    }
    CHECK(run_all() == on_halide_pool);
    CHECK(host_loop_tasks == tasks);  // back on Halide's pool
}

namespace {

template <typename T>
void check_edge(const char *what, double p, int64_t K, int64_t S, bool ceil_mode, int64_t L,
                const std::function<void(test::Tensor<T> &)> &fill, double tolerance) {
    INFO(what << ": p=" << p << " K=" << K << " S=" << S << " ceil=" << ceil_mode << " L=" << L
              << " dtype=" << (sizeof(T) == 4 ? "f32" : "f64"));
    lppool::LPPool1d pool(p, K, S, ceil_mode);
    auto x = test::make_tensor<T>(Layout::NCL, 3, 1, 2, L);
    fill(x);
    auto y = test::make_tensor<T>(Layout::NCL, 3, 1, 2, pool.output_length(L));
    pool.forward(x.buffer, y.buffer);
    test::require_matches(y, reference::forward(x.to_reference(), p, K, S, ceil_mode), tolerance);
}

template <typename T>
std::function<void(test::Tensor<T> &)> uniform(double lo, double hi, uint32_t seed) {
    return [=](test::Tensor<T> &t) {
        std::mt19937 rng(seed);
        test::fill_random_magnitudes(t, rng, lo, hi);
    };
}

}  // namespace

TEST_CASE("edge semantics against the float64 reference", "[edges]") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    auto with_specials = [&](test::Tensor<float> &t) {
        std::mt19937 rng(1);
        test::fill_random(t, rng);
        t.at(0, 0, 3) = nan;
        t.at(0, 1, 9) = inf;
        t.at(0, 1, 20) = -inf;
        t.at(0, 0, 30) = nan;
        t.at(0, 0, 31) = inf;
    };
    for (double p : {0.5, 1.0, 2.0, 2.5, 7.0}) {
        check_edge<float>("NaN and Inf", p, 4, 3, true, 64, with_specials, 1e-5);
    }
    // Subnormal float32 inputs: the plain sum underflows, the rescue keeps the norm.
    check_edge<float>("subnormals", 2.0, 8, 8, false, 256, uniform<float>(1e-44, 1e-39, 2), 1e-5);
    check_edge<double>("subnormals", 2.0, 8, 8, false, 256, uniform<double>(1e-320, 1e-310, 2), 1e-12);
    check_edge<float>("all zeros", 0.5, 4, 2, true, 33, [](auto &t) { t.storage.assign(t.storage.size(), 0.0f); }, 1e-5);
    for (double p : {0.3, 0.7}) {
        check_edge<float>("p in (0, 1)", p, 5, 2, true, 101, uniform<float>(0.01, 3, 3), 1e-5);
    }
    // p = 1e-3: y = (sum |x|^p)^(1/p) ~ K^1000 * mean: finite only in float64;
    // the reference's own rounding, amplified by 1/p, sets the tolerance.
    check_edge<double>("p = 1e-3", 1e-3, 2, 2, false, 64, uniform<double>(1e-3, 1, 4), 1e-9);
    // p = 1e3: |x|^p overflows float32 at once; the rescue gives ~max|x|.
    check_edge<float>("p = 1e3", 1e3, 6, 3, true, 77, uniform<float>(0.5, 2, 5), 1e-5);
    check_edge<double>("p = 1e3", 1e3, 6, 3, true, 77, uniform<double>(0.5, 2, 5), 1e-12);
    check_edge<float>("K = 1", 2.5, 1, 1, false, 40, uniform<float>(0.1, 2, 6), 1e-5);
    check_edge<float>("K = L", 3.0, 50, 1, false, 50, uniform<float>(0.1, 2, 7), 1e-5);
    check_edge<float>("S > K (gaps)", 2.0, 3, 7, true, 60, uniform<float>(0.1, 2, 8), 1e-5);
    check_edge<float>("L = 1, ceil_mode", 2.0, 1, 3, true, 1, uniform<float>(0.1, 2, 9), 1e-5);
    // K = 2^20: one window per 2^20 elements (the along-window kernel). The
    // float32 bound is for K <= 64; a 2^20-term float sum is good to ~1e-5 here.
    check_edge<float>("K = 2^20", 2.0, 1 << 20, 1 << 19, true, (1 << 20) + 12345, uniform<float>(0.5, 1, 10), 2e-5);
}

TEST_CASE("gaps (S > K): elements no window covers get zero gradient", "[edges]") {
    lppool::LPPool1d pool(2.0, 3, 7);
    auto x = test::make_tensor<double>(Layout::NCL, 3, 1, 1, 30);
    std::mt19937 rng(3);
    test::fill_random(x, rng);
    const int64_t out = pool.output_length(30);
    auto y = test::make_tensor<double>(Layout::NCL, 3, 1, 1, out);
    auto dy = test::make_tensor<double>(Layout::NCL, 3, 1, 1, out);
    test::fill_random(dy, rng, 0.5, 1);
    auto dx = test::make_tensor<double>(Layout::NCL, 3, 1, 1, 30);
    pool.forward(x.buffer, y.buffer);
    pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
    for (int64_t l = 0; l < 30; l++) {
        const bool covered = l % 7 < 3 && l / 7 < out;
        INFO("l=" << l);
        if (covered) {
            CHECK(dx.at(0, 0, l) != 0.0);
        } else {
            CHECK(dx.at(0, 0, l) == 0.0);
        }
    }
}
