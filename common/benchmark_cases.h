// The benchmark cases (bench/README.md), shared by the CPU benchmark
// (bench/lppool_bench), the GPU one (bench/gpu) and lppool-tune's default shapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lppool_bench {

// 16-bit element types (computed in float32): only the CPU benchmark runs them.
enum class Half { none, float16, bfloat16 };

struct Case {
    std::string id;
    int64_t N, C, L, K, S;
    double p;
    bool f64 = false;
    bool channels_last = false;
    bool backward = false;
    Half half = Half::none;
};

inline const std::vector<Case> &cases() {
    static const std::vector<Case> all = {
        {"a", 32, 64, 16384, 4, 4, 2.0},
        {"b", 32, 64, 16384, 4, 4, 1.0},
        {"c", 32, 64, 16384, 4, 4, 3.0},
        {"d", 32, 64, 16384, 4, 4, 2.5},
        {"e", 32, 64, 16384, 16, 1, 2.0},
        {"f", 1, 1, int64_t(1) << 24, 8, 8, 2.0},
        {"g", 1, 2, 48000 * 60, 1024, 512, 2.0, false, true},
        {"h_a", 32, 64, 16384, 4, 4, 2.0, false, false, true},
        {"h_d", 32, 64, 16384, 4, 4, 2.5, false, false, true},
        {"h_e", 32, 64, 16384, 16, 1, 2.0, false, false, true},
        {"i", 32, 64, 16384, 4, 4, 2.0, true},
        {"j", 1, 8, 256, 4, 4, 2.0},
        {"k", 32, 64, 16384, 4, 4, 2.0, false, true},
        {"a_f16", 32, 64, 16384, 4, 4, 2.0, false, false, false, Half::float16},
        {"a_bf16", 32, 64, 16384, 4, 4, 2.0, false, false, false, Half::bfloat16},
        {"h_a_bf16", 32, 64, 16384, 4, 4, 2.0, false, false, true, Half::bfloat16},
        {"nn", 32, 64, 256, 4, 4, 2.0},     // a network's activations
        {"nn_s2", 32, 64, 256, 4, 2, 2.0},  // the same with overlapping windows (rows not folded)
        {"tiny", 1, 1, 8, 2, 2, 2.0},    // per-call overhead
    };
    return all;
}

inline int64_t output_length(const Case &c) { return (c.L - c.K) / c.S + 1; }

// Input read + output written (backward: x, y, dy read, dx written).
inline int64_t bytes_moved(const Case &c) {
    const int64_t elem = c.half != Half::none ? 2 : c.f64 ? 8 : 4, rows = c.N * c.C;
    return c.backward ? elem * rows * (2 * c.L + 2 * output_length(c))
                      : elem * rows * (c.L + output_length(c));
}

}  // namespace lppool_bench
