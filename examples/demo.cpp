// LPPool1d demo: the seed examples, extra_repr(), and a generated signal
// pooled forward and backward, timed against the plain C++ loop a user
// would otherwise write.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "lppool1d.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Timing {
    double min_ms, median_ms;
};

Timing time_ms(const std::function<void()> &run, int repetitions) {
    run();  // warm-up: first touch of the output, thread pool start
    std::vector<double> ms;
    for (int i = 0; i < repetitions; i++) {
        auto start = Clock::now();
        run();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms.front(), ms[ms.size() / 2]};
}

void print_buffer_2d(const char *name, const Halide::Runtime::Buffer<float> &b, int n) {
    std::printf("  %s[n=%d] shape (%d, %d, %d):\n", name, n, b.dim(2).extent(), b.dim(1).extent(),
                b.dim(0).extent());
    for (int c = 0; c < std::min(b.dim(1).extent(), 3); c++) {
        std::printf("    c=%d:", c);
        for (int j = 0; j < b.dim(0).extent(); j++) std::printf(" %.4f", b(j, c, n));
        std::printf("\n");
    }
    if (b.dim(1).extent() > 3) std::printf("    ... (%d more channels)\n", b.dim(1).extent() - 3);
}

// The obvious implementation: contiguous (N, C, L), floor mode, std::pow.
void plain_loop_forward(const float *x, float *y, int64_t rows, int64_t L, double p, int64_t K,
                        int64_t S) {
    const int64_t out_len = (L - K) / S + 1;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < out_len; j++) {
            float sum = 0;
            for (int64_t k = 0; k < K; k++) sum += std::pow(std::fabs(x[r * L + j * S + k]), float(p));
            y[r * out_len + j] = std::pow(sum, float(1 / p));
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    // --quick: a small signal and few repetitions (valgrind and sanitizer runs).
    const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
    // One thread until the single-thread timing below: Halide 14 cannot lower
    // the thread count once its workers have started; raising it works.
    lppool::set_num_threads(1);
    std::printf("LPPool1d demo\n\n");

    // Seed example 1: p=2, K=4 on ones(1, 8, 16) -> (1, 8, 4), every value sqrt(4) = 2.
    {
        lppool::LPPool1d pool(2.0, 4);
        Halide::Runtime::Buffer<float> x(16, 8, 1);
        x.fill(1.0f);
        auto y = pool.forward(x);
        std::printf("LPPool1d(%s) on ones(1, 8, 16)\n", pool.extra_repr().c_str());
        print_buffer_2d("y", y, 0);
    }

    // Seed example 2: p=1, K=3, S=1 on a (2, 4, 12) input -> (2, 4, 10).
    {
        lppool::LPPool1d pool(1.0, 3, 1);
        Halide::Runtime::Buffer<float> x(12, 4, 2);
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 12; l++) x(l, c, n) = float(((l + 3 * c + 5 * n) % 7) - 3);
        auto y = pool.forward(x);
        std::printf("\nLPPool1d(%s) on a (2, 4, 12) ramp of values in [-3, 3]\n",
                    pool.extra_repr().c_str());
        print_buffer_2d("y", y, 0);
    }

    // A generated signal: 32 x 64 channels of 16384 samples (128 MiB), p = 2, K = S = 4.
    const int64_t N = quick ? 2 : 32, C = quick ? 4 : 64, L = quick ? 4096 : 16384, K = 4;
    const double p = 2.0;
    lppool::LPPool1d pool(p, K);
    const int64_t out_len = pool.output_length(L);
    const int len = static_cast<int>(L), out = static_cast<int>(out_len);
    const int channels = static_cast<int>(C), batch = static_cast<int>(N);
    Halide::Runtime::Buffer<float> x(len, channels, batch);
    std::mt19937 rng(42);
    std::normal_distribution<float> noise(0.0f, 1.0f);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int l = 0; l < L; l++)
                x(l, c, n) = std::sin(0.001f * float(l) * float(c + 1)) + 0.1f * noise(rng);
    Halide::Runtime::Buffer<float> y(out, channels, batch), y_plain(out, channels, batch);
    Halide::Runtime::Buffer<float> dy(out, channels, batch), dx(len, channels, batch);
    dy.fill(1.0f);

    const int reps = quick ? 2 : 10;
    const double gb = double(N * C * (L + out_len)) * sizeof(float) / 1e9;
    std::printf("\nSignal (N=%lld, C=%lld, L=%lld) float32, LPPool1d(%s): %lld outputs per row\n",
                (long long)N, (long long)C, (long long)L, pool.extra_repr().c_str(), (long long)out_len);

    Timing fwd1 = time_ms([&] { pool.forward(x, y); }, reps);
    lppool::set_num_threads(0);
    Timing fwd = time_ms([&] { pool.forward(x, y); }, reps);
    Timing plain = time_ms([&] { plain_loop_forward(x.data(), y_plain.data(), N * C, L, p, K, K); }, reps);
    Timing bwd = time_ms([&] { pool.backward(x, y, dy, dx); }, reps);

    double max_rel = 0;
    y.for_each_element([&](int j, int c, int n) {
        max_rel = std::max(max_rel, double(std::fabs(y(j, c, n) - y_plain(j, c, n)) / std::fabs(y_plain(j, c, n))));
    });

    std::printf("  %-34s %9s %9s %8s %10s\n", "", "min ms", "median ms", "GB/s", "vs plain");
    auto row = [&](const char *name, Timing t, double bytes_gb) {
        std::printf("  %-34s %9.3f %9.3f %8.2f %9.1fx\n", name, t.min_ms, t.median_ms,
                    bytes_gb / (t.min_ms / 1e3), plain.min_ms / t.min_ms);
    };
    row("LPPool1d forward (all threads)", fwd, gb);
    row("LPPool1d forward (1 thread)", fwd1, gb);
    row("plain C++ loop forward (1 thread)", plain, gb);
    std::printf("  %-34s %9.3f %9.3f %8.2f\n", "LPPool1d backward (all threads)", bwd.min_ms,
                bwd.median_ms, 2 * gb / (bwd.min_ms / 1e3));
    std::printf("  forward vs plain loop: max relative difference %.2g\n", max_rel);
    std::printf("  sample: y[0, 0, :4] = %.5f %.5f %.5f %.5f   dx[0, 0, :4] = %.5f %.5f %.5f %.5f\n",
                y(0, 0, 0), y(1, 0, 0), y(2, 0, 0), y(3, 0, 0), dx(0, 0, 0), dx(1, 0, 0), dx(2, 0, 0),
                dx(3, 0, 0));
    return 0;
}
