// Test tensors in every memory layout the library accepts, and comparisons
// against the reference with docs/semantics.md's tolerances.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <random>
#include <string>
#include <vector>

#include "HalideBuffer.h"
#include "lppool1d.h"
#include "reference.h"

namespace test {

// Halide 14's Buffer::for_each_value (and fill(), built on it) shifts its
// table of dimensions down when it merges dense ones and reads one entry past
// the table: the outer loops then step the pointer by an uninitialized
// stride after their single iteration. Nothing is dereferenced, but it is
// pointer overflow, which UBSan reports when the stack garbage is large. The
// tests visit values with their own odometer over the coordinates instead
// (for_each_element is sound, but GCC warns inside it for zero dimensions).
template <typename T, typename Fn>
void for_each_value(Halide::Runtime::Buffer<T> &b, Fn &&fn) {
    const int dims = b.dimensions();
    std::vector<int> pos(size_t(dims) + 1, 0);
    for (int d = 0; d < dims; d++) {
        if (b.dim(d).extent() <= 0) return;
        pos[size_t(d)] = b.dim(d).min();
    }
    for (;;) {
        fn(b(pos.data()));
        int d = 0;
        for (; d < dims; d++) {
            if (++pos[size_t(d)] <= b.dim(d).max()) break;
            pos[size_t(d)] = b.dim(d).min();
        }
        if (d == dims) return;
    }
}

template <typename T, typename Value>
void fill(Halide::Runtime::Buffer<T> &b, Value value) {
    for_each_value(b, [&](T &v) { v = T(value); });
}

// Element types: every dtype the kernels take (schedules/dtypes.def), as the
// tests convert, name and compare them.
inline double to_double(float v) { return v; }
inline double to_double(double v) { return v; }
inline double to_double(lppool::float16 v) { return lppool::to_float(v); }
inline double to_double(lppool::bfloat16 v) { return lppool::to_float(v); }

template <typename T>
T from_double(double v) {
    if constexpr (std::is_same_v<T, lppool::float16>) {
        return lppool::to_float16(float(v));
    } else if constexpr (std::is_same_v<T, lppool::bfloat16>) {
        return lppool::to_bfloat16(float(v));
    } else {
        return T(v);
    }
}

template <typename T>
constexpr bool is_half() {
    return std::is_same_v<T, lppool::float16> || std::is_same_v<T, lppool::bfloat16>;
}

template <typename T>
const char *dtype_name() {
    if constexpr (std::is_same_v<T, float>) return "f32";
    if constexpr (std::is_same_v<T, double>) return "f64";
    if constexpr (std::is_same_v<T, lppool::float16>) return "f16";
    return "bf16";
}

// The smallest normal value of T.
template <typename T>
double min_normal() {
    if constexpr (std::is_same_v<T, lppool::float16>) {
        return 0x1p-14;
    } else if constexpr (std::is_same_v<T, lppool::bfloat16>) {
        return std::numeric_limits<float>::min();
    } else {
        return std::numeric_limits<T>::min();
    }
}

// One rounding to T, relative (its unit roundoff); 0 for the types the
// kernels compute in.
template <typename T>
constexpr double rounding_tolerance() {
    if constexpr (std::is_same_v<T, lppool::float16>) return 0x1p-11;
    if constexpr (std::is_same_v<T, lppool::bfloat16>) return 0x1p-8;
    return 0;
}

template <typename T>
bool same_bits(const T &a, const T &b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

enum class Layout { NCL, NLC, Strided };

inline const char *layout_name(Layout l) {
    switch (l) {
    case Layout::NCL: return "NCL";
    case Layout::NLC: return "NLC";
    default: return "strided";
    }
}

// A (N, C, L) or (C, L) tensor in one layout, over storage that starts with
// a sentinel everywhere, so writes outside the tensor's elements show.
template <typename T>
struct Tensor {
    int rank = 3;
    int64_t N = 1, C = 1, L = 1;
    int64_t stride_n = 0, stride_c = 0, stride_l = 0;
    std::vector<T> storage;
    Halide::Runtime::Buffer<T> buffer;

    T &at(int64_t n, int64_t c, int64_t l) {
        return storage[size_t(n * stride_n + c * stride_c + l * stride_l)];
    }
    T at(int64_t n, int64_t c, int64_t l) const {
        return storage[size_t(n * stride_n + c * stride_c + l * stride_l)];
    }

    lppool::TensorView<T> view() {
        lppool::TensorView<T> v;
        v.data = storage.data();
        v.rank = rank;
        if (rank == 3) {
            v.sizes = {N, C, L};
            v.strides = {stride_n, stride_c, stride_l};
        } else {
            v.sizes = {C, L, 0};
            v.strides = {stride_c, stride_l, 0};
        }
        return v;
    }

    reference::Tensor to_reference() const {
        reference::Tensor r(N, C, L);
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t l = 0; l < L; l++) r.at(n, c, l) = to_double(at(n, c, l));
        return r;
    }
};

template <typename T>
T sentinel() {
    return from_double<T>(-12345.5);
}

template <typename T>
Tensor<T> make_tensor(Layout layout, int rank, int64_t N, int64_t C, int64_t L) {
    Tensor<T> t;
    t.rank = rank;
    t.N = rank == 3 ? N : 1;
    t.C = C;
    t.L = L;
    size_t elements;
    switch (layout) {
    case Layout::NCL:
        t.stride_l = 1, t.stride_c = L, t.stride_n = C * L;
        elements = size_t(t.N * C * L);
        break;
    case Layout::NLC:
        t.stride_c = 1, t.stride_l = C, t.stride_n = C * L;
        elements = size_t(t.N * C * L);
        break;
    default:  // gaps everywhere: every third element along L, padded rows
        t.stride_l = 3, t.stride_c = 3 * L + 5, t.stride_n = (3 * L + 5) * C + 7;
        elements = size_t(t.stride_n * t.N);
        break;
    }
    t.storage.assign(elements, sentinel<T>());
    std::vector<halide_dimension_t> dims = {
        halide_dimension_t(0, int32_t(L), int32_t(t.stride_l)),
        halide_dimension_t(0, int32_t(C), int32_t(t.stride_c))};
    if (rank == 3) {
        dims.push_back(halide_dimension_t(0, int32_t(t.N), int32_t(t.stride_n)));
    }
    t.buffer = Halide::Runtime::Buffer<T>(t.storage.data(), int(dims.size()), dims.data());
    return t;
}

template <typename T>
void fill_random(Tensor<T> &t, std::mt19937 &rng, double lo = -2.0, double hi = 2.0) {
    std::uniform_real_distribution<double> dist(lo, hi);
    for (int64_t n = 0; n < t.N; n++)
        for (int64_t c = 0; c < t.C; c++)
            for (int64_t l = 0; l < t.L; l++) t.at(n, c, l) = from_double<T>(dist(rng));
}

// Values whose magnitude is in [lo, hi] with a random sign.
template <typename T>
void fill_random_magnitudes(Tensor<T> &t, std::mt19937 &rng, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::bernoulli_distribution negative(0.5);
    for (int64_t n = 0; n < t.N; n++)
        for (int64_t c = 0; c < t.C; c++)
            for (int64_t l = 0; l < t.L; l++)
                t.at(n, c, l) = from_double<T>(negative(rng) ? -dist(rng) : dist(rng));
}

// docs/semantics.md: float32 relative error <= 1e-5 (K <= 64), float64 <=
// 1e-12; float16 and bfloat16: float32's, then one rounding to the type.
template <typename T>
constexpr double forward_tolerance() {
    return std::is_same_v<T, double> ? 1e-12 : 1e-5 + rounding_tolerance<T>();
}

// Relative closeness with NaN == NaN and inf == inf of the same sign.
inline bool close(reference::real got, reference::real want, reference::real rel, reference::real scale) {
    if (std::isnan(want)) return std::isnan(got);
    if (std::isinf(want)) return got == want;
    if (!std::isfinite(got)) return false;
    return std::fabs(got - want) <= rel * scale;
}

// Compares every element with the reference and checks storage outside the
// tensor still holds the sentinel. Reports the first mismatch.
template <typename T>
void require_matches(const Tensor<T> &got, const reference::Tensor &want, double rel,
                     const reference::Tensor *scale = nullptr) {
    REQUIRE(got.N == want.N);
    REQUIRE(got.C == want.C);
    REQUIRE(got.L == want.L);
    std::vector<bool> is_element(got.storage.size(), false);
    for (int64_t n = 0; n < got.N; n++) {
        for (int64_t c = 0; c < got.C; c++) {
            for (int64_t l = 0; l < got.L; l++) {
                is_element[size_t(n * got.stride_n + c * got.stride_c + l * got.stride_l)] = true;
                const reference::real w = want.at(n, c, l);
                const reference::real s = scale ? scale->at(n, c, l) : std::fabs(w);
                // Results near the dtype's normal range are compared absolutely:
                // kernels may flush subnormal terms to zero (float16's
                // subnormals are computed as float32 normals: one rounding).
                const reference::real floor =
                    std::is_same_v<T, lppool::float16> ? min_normal<T>() : 16 * min_normal<T>() / rel;
                const reference::real g = to_double(got.at(n, c, l));
                if (!close(g, w, rel, std::max(s, floor))) {
                    FAIL("element (n=" << n << ", c=" << c << ", l=" << l << "): got " << double(g)
                                       << ", want " << double(w) << " (scale " << double(s)
                                       << ", rel tol " << rel << ")");
                }
            }
        }
    }
    for (size_t i = 0; i < got.storage.size(); i++) {
        if (!is_element[i] && !same_bits(got.storage[i], sentinel<T>())) {
            FAIL("storage index " << i << " outside the tensor was written");
        }
    }
}

// One point of the test grid: hyper-parameters and length, plus the layout,
// rank, API (Halide buffer or TensorView) and dtype it runs with.
struct GridCase {
    double p;
    int64_t K, S;
    bool ceil_mode;
    int64_t L;
    Layout layout;
    int rank;
    bool use_view;
    bool f32;
};

// The grid: p in {0.5, 1, 1.5, 2, 2.5, 3, 7, 200}, K in {1, 2, 3, 4, 7, 16, 33},
// S in {1, 2, K, K+3, 8} (8: the largest specialized stride), ceil_mode
// on/off, and L at and around K and the window
// boundaries plus one long enough for several vectors and chunks. Layout,
// rank, API and dtype cycle with the case number, so each appears with every
// p, K and S. Returns the number of cases run.
template <typename Run>
int for_each_grid_case(Run &&run) {
    const double ps[] = {0.5, 1, 1.5, 2, 2.5, 3, 7, 200};
    const int64_t Ks[] = {1, 2, 3, 4, 7, 16, 33};
    int cases = 0;
    for (double p : ps) {
        for (int64_t K : Ks) {
            for (int64_t S : {int64_t(1), int64_t(2), K, K + 3, int64_t(8)}) {
                for (bool ceil_mode : {false, true}) {
                    for (int64_t L : {K, K + 1, K + S - 1, K + S, 2 * K + 3 * S + 1, 300 + K}) {
                        run(GridCase{p, K, S, ceil_mode, L, Layout(cases % 3), 2 + (cases / 3) % 2,
                                     (cases / 6) % 2 == 1, cases % 2 == 1});
                        cases++;
                    }
                }
            }
        }
    }
    return cases;
}

inline constexpr int kGridCases = 8 * 7 * 5 * 2 * 6;

}  // namespace test
