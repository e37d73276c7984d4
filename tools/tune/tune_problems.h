// lppool-tune: the tuning data and the checks against the float64 reference
// (common/reference.h) every candidate passes before it is timed.
#pragma once

#include "reference.h"
#include "tune_shapes.h"

namespace lppool_tune {

// Buffers and the reference.

// One problem's buffers: x, y (the forward result), dy and dx, with the
// kernel's layout, plus where the result goes.
struct Problem {
    TuneShape shape;
    int64_t out_length = 0;
    Halide::Buffer<> x, y, dy, dx;
    Halide::Buffer<> &result() { return shape.backward ? dx : y; }
    const Halide::Buffer<> &result() const { return shape.backward ? dx : y; }
};

inline Halide::Buffer<> make_buffer(const TuneShape &s, int64_t length) {
    const Halide::Type t = s.f64 ? Halide::Float(64) : Halide::Float(32);
    const std::vector<int> sizes{int(length), int(s.C), int(s.N)};
    // Channels-last: C is the innermost (fastest) dimension in memory.
    const std::vector<int> order =
        s.channels_last ? std::vector<int>{1, 0, 2} : std::vector<int>{0, 1, 2};
    return Halide::Buffer<>(t, sizes, order);
}

template <typename T>
inline T *element(Halide::Buffer<> &b, int64_t l, int64_t c, int64_t n) {
    return reinterpret_cast<T *>(b.data()) + l * b.dim(0).stride() + c * b.dim(1).stride() +
           n * b.dim(2).stride();
}

// Writes through the host pointer, so marks the host copy as the newest: a
// GPU pipeline copies an input to the device only when it is.
template <typename T>
inline void fill_from(Halide::Buffer<> &b, const reference::Tensor &t) {
    for (int64_t n = 0; n < t.N; n++)
        for (int64_t c = 0; c < t.C; c++)
            for (int64_t l = 0; l < t.L; l++) *element<T>(b, l, c, n) = T(t.at(n, c, l));
    b.set_host_dirty();
}

// Values in [-2, 2] with some exact zeros (abs, and the backward's x == 0
// rule). With `extreme_exponent` e, runs of 7 elements are scaled by 10^e or
// 10^-e at random, so some windows' power sums overflow or underflow and the
// forward's rescue must run.
inline reference::Tensor random_tensor(int64_t N, int64_t C, int64_t L, std::mt19937 &rng,
                                int extreme_exponent = 0) {
    reference::Tensor t(N, C, L);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    std::uniform_int_distribution<int> pick(-1, 1);
    reference::real scale = 1;
    for (size_t i = 0; i < t.v.size(); i++) {
        if (extreme_exponent && i % 7 == 0) {
            scale = std::pow(reference::real(10), reference::real(pick(rng) * extreme_exponent));
        }
        const double r = u(rng);
        t.v[i] = std::fabs(r) < 0.02 ? 0 : reference::real(r) * scale;
    }
    return t;
}

struct ReferenceProblem {
    Problem problem;
    reference::Tensor want, scale;  // expected result; per-element scale (backward)
};

// A problem with its reference; out_length from ceil mode when `ceil_mode`
// (a partial last window), else floor.
inline ReferenceProblem make_reference_problem(const TuneShape &s, bool ceil_mode, std::mt19937 &rng,
                                        int extreme_exponent = 0) {
    ReferenceProblem r;
    r.problem.shape = s;
    r.problem.out_length = reference::output_length(s.L, s.K, s.S, ceil_mode);
    reference::Tensor x = random_tensor(s.N, s.C, s.L, rng, extreme_exponent);
    reference::Tensor y = reference::forward(x, s.p, s.K, s.S, ceil_mode);
    Problem &p = r.problem;
    p.x = make_buffer(s, s.L);
    p.y = make_buffer(s, p.out_length);
    if (s.f64) {
        fill_from<double>(p.x, x);
    } else {
        fill_from<float>(p.x, x);
    }
    if (!s.backward) {
        r.want = std::move(y);
        return r;
    }
    // The backward reads y as the kernel's dtype gives it: round y first.
    for (auto &v : y.v) {
        v = s.f64 ? (reference::real)(double)v : (reference::real)(float)v;
    }
    for (auto &v : x.v) {
        v = s.f64 ? (reference::real)(double)v : (reference::real)(float)v;
    }
    reference::Tensor dy = random_tensor(s.N, s.C, p.out_length, rng);
    p.dy = make_buffer(s, p.out_length);
    p.dx = make_buffer(s, s.L);
    if (s.f64) {
        fill_from<double>(p.y, y);
        fill_from<double>(p.dy, dy);
    } else {
        fill_from<float>(p.y, y);
        fill_from<float>(p.dy, dy);
        for (auto &v : dy.v) v = (reference::real)(float)v;
    }
    reference::Gradient g = reference::backward(x, y, dy, s.p, s.K, s.S);
    r.want = std::move(g.grad_x);
    r.scale = std::move(g.magnitude);
    return r;
}

// Timing-only problem of the full tuning shape (no reference: too slow).
inline Problem make_timing_problem(const TuneShape &s, std::mt19937 &rng) {
    Problem p;
    p.shape = s;
    p.out_length = s.out_length();
    p.x = make_buffer(s, s.L);
    p.y = make_buffer(s, p.out_length);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    auto fill = [&](Halide::Buffer<> &b) {
        const size_t n = b.number_of_elements();
        if (s.f64) {
            double *d = reinterpret_cast<double *>(b.data());
            for (size_t i = 0; i < n; i++) d[i] = u(rng);
        } else {
            float *d = reinterpret_cast<float *>(b.data());
            for (size_t i = 0; i < n; i++) d[i] = float(u(rng));
        }
    };
    fill(p.x);
    fill(p.y);
    if (s.backward) {
        p.dy = make_buffer(s, p.out_length);
        p.dx = make_buffer(s, s.L);
        fill(p.dy);
        // y must be a plausible forward result (positive): |y| + 1.
        const size_t n = p.y.number_of_elements();
        if (s.f64) {
            double *d = reinterpret_cast<double *>(p.y.data());
            for (size_t i = 0; i < n; i++) d[i] = std::fabs(d[i]) + 1;
        } else {
            float *d = reinterpret_cast<float *>(p.y.data());
            for (size_t i = 0; i < n; i++) d[i] = std::fabs(d[i]) + 1;
        }
    }
    return p;
}

// The tests' tolerances (tests/test_support.h): relative to |want| (forward)
// or to the sum of |terms| (backward), whose ratio^(p-1) amplifies rounding.
inline std::string mismatch(Problem &p, const ReferenceProblem &r) {
    const TuneShape &s = p.shape;
    double rel = s.f64 ? 1e-12 : 1e-5;
    if (s.backward) {
        rel *= std::max(1.0, std::fabs(s.p - 1));
    }
    const double min_normal = s.f64 ? 2.2250738585072014e-308 : 1.1754943508222875e-38;
    Halide::Buffer<> &got = p.result();
    for (int64_t n = 0; n < r.want.N; n++)
        for (int64_t c = 0; c < r.want.C; c++)
            for (int64_t l = 0; l < r.want.L; l++) {
                const reference::real want = r.want.at(n, c, l);
                const reference::real g = s.f64 ? (reference::real)*element<double>(got, l, c, n)
                                                : (reference::real)*element<float>(got, l, c, n);
                const reference::real scale =
                    std::max<reference::real>(s.backward ? r.scale.at(n, c, l) : std::fabs(want),
                                              min_normal);
                if (!std::isfinite(g) || std::fabs(g - want) > rel * scale) {
                    std::ostringstream m;
                    m << "at (n=" << n << ", c=" << c << ", l=" << l << ") got " << (double)g
                      << ", want " << (double)want;
                    return m.str();
                }
            }
    return "";
}

// An autoscheduled peer's result against ours on the same problem (ours was
// checked against the reference): relative to max(|ours|, 1), the data
// being O(1).
inline std::string differs(Problem &p, const Halide::Buffer<> &ours) {
    const TuneShape &s = p.shape;
    const double rel = (s.f64 ? 1e-10 : 1e-4) * std::max(1.0, std::fabs(s.p - 1));
    Halide::Buffer<> &got = p.result();
    Halide::Buffer<> want = ours;
    const int64_t length = got.dim(0).extent();
    for (int64_t n = 0; n < s.N; n++)
        for (int64_t c = 0; c < s.C; c++)
            for (int64_t l = 0; l < length; l++) {
                const double g = s.f64 ? *element<double>(got, l, c, n) : *element<float>(got, l, c, n);
                const double w = s.f64 ? *element<double>(want, l, c, n) : *element<float>(want, l, c, n);
                if (!(std::fabs(g - w) <= rel * std::max(std::fabs(w), 1.0))) {
                    std::ostringstream m;
                    m << "at (n=" << n << ", c=" << c << ", l=" << l << ") got " << g
                      << ", ours " << w;
                    return m.str();
                }
            }
    return "";
}

}  // namespace lppool_tune
