// One pooling case checked against the float64 reference, and the whole
// grid of them: shared by the CPU suites and the GPU (CUDA, OpenCL) suites,
// which run the same checks on another device.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>

#include "test_support.h"

namespace test {

template <typename T>
void check_forward_case(Layout layout, int rank, double p, int64_t K, int64_t S, bool ceil_mode,
                        int64_t L, std::mt19937 &rng, bool use_view,
                        lppool::Device device = lppool::Device::cpu) {
    const int64_t N = 2, C = 3;
    const lppool::LPPool1d pool = lppool::LPPool1d(p, K, S, ceil_mode).on(device);
    const int64_t out_len = reference::output_length(L, K, S, ceil_mode);
    INFO(layout_name(layout) << " rank=" << rank << " p=" << p << " K=" << K << " S=" << S
                             << " ceil=" << ceil_mode << " L=" << L << " view=" << use_view
                             << " dtype=" << dtype_name<T>()
                             << " device=" << lppool::device_name(device));
    REQUIRE(pool.output_length(L) == out_len);
    auto x = make_tensor<T>(layout, rank, N, C, L);
    fill_random(x, rng);
    auto y = make_tensor<T>(layout, rank, N, C, out_len);
    if (use_view) {
        pool.forward(lppool::TensorView<const T>{x.view().data, x.view().rank, x.view().sizes, x.view().strides},
                     y.view());
    } else {
        pool.forward(x.buffer, y.buffer);
    }
    auto want = reference::forward(x.to_reference(), p, K, S, ceil_mode);
    require_matches(y, want, forward_tolerance<T>());
}

// Backward tolerance: each term's ratio^(p-1) amplifies the ratio's rounding
// error by about p - 1, so the float32 bound grows with p.
template <typename T>
double backward_tolerance(double p) {
    const double compute = std::is_same_v<T, double> ? forward_tolerance<double>()
                                                     : forward_tolerance<float>();
    return compute * std::max(1.0, std::fabs(p - 1)) + rounding_tolerance<T>();
}

template <typename T>
void check_backward_case(Layout layout, int rank, double p, int64_t K, int64_t S, bool ceil_mode,
                         int64_t L, std::mt19937 &rng, bool use_view,
                         lppool::Device device = lppool::Device::cpu) {
    const int64_t N = 2, C = 3;
    const lppool::LPPool1d pool = lppool::LPPool1d(p, K, S, ceil_mode).on(device);
    const int64_t out_len = pool.output_length(L);
    INFO(layout_name(layout) << " rank=" << rank << " p=" << p << " K=" << K << " S=" << S
                             << " ceil=" << ceil_mode << " L=" << L << " view=" << use_view
                             << " dtype=" << dtype_name<T>()
                             << " device=" << lppool::device_name(device));
    auto x = make_tensor<T>(layout, rank, N, C, L);
    fill_random(x, rng);
    auto y = make_tensor<T>(layout, rank, N, C, out_len);
    auto dy = make_tensor<T>(layout, rank, N, C, out_len);
    fill_random(dy, rng, -1, 1);
    auto dx = make_tensor<T>(layout, rank, N, C, L);
    pool.forward(x.buffer, y.buffer);
    if (use_view) {
        pool.backward(x.view(), y.view(), dy.view(), dx.view());
    } else {
        pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
    }
    // The reference gradient uses the kernel's own y, so this checks the
    // backward alone; the forward is checked against its own reference.
    auto want = reference::backward(x.to_reference(), y.to_reference(), dy.to_reference(), p, K, S);
    require_matches(dx, want.grad_x, backward_tolerance<T>(p), &want.magnitude);
}

// The whole grid on one device, each case in A where GridCase::f32 is set
// and in B elsewhere; returns the number of cases run.
template <typename A, typename B, bool kBackward>
int check_grid(lppool::Device device, std::mt19937 &rng) {
    return for_each_grid_case([&](const GridCase &g) {
        auto run = [&](auto zero) {
            using T = decltype(zero);
            if constexpr (kBackward) {
                check_backward_case<T>(g.layout, g.rank, g.p, g.K, g.S, g.ceil_mode, g.L, rng,
                                       g.use_view, device);
            } else {
                check_forward_case<T>(g.layout, g.rank, g.p, g.K, g.S, g.ceil_mode, g.L, rng,
                                      g.use_view, device);
            }
        };
        g.f32 ? run(A{}) : run(B{});
    });
}

inline int check_forward_grid(lppool::Device device, std::mt19937 &rng) {
    return check_grid<float, double, false>(device, rng);
}

inline int check_backward_grid(lppool::Device device, std::mt19937 &rng) {
    return check_grid<float, double, true>(device, rng);
}

// The grid in bfloat16 (the cases float32 takes above) and float16.
inline int check_half_forward_grid(lppool::Device device, std::mt19937 &rng) {
    return check_grid<lppool::bfloat16, lppool::float16, false>(device, rng);
}

inline int check_half_backward_grid(lppool::Device device, std::mt19937 &rng) {
    return check_grid<lppool::bfloat16, lppool::float16, true>(device, rng);
}

}  // namespace test
