#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "lppool1d_backward_autodiff_f32.h"
#include "lppool1d_backward_autodiff_f64.h"
#include "kernel_registry.h"
#include "kernel_variants.h"
#include "lppool1d_backward_f32_rows.h"  // declares what kernel_registry.h does: same signature
#include "grid_checks.h"

using test::Layout;
using test::backward_tolerance;

namespace {

// The pool's gradient equals, bit for bit, what the rows backward gives
// called directly on the whole call (the runtime may fold short rows into
// one and cut long rows of few-row calls into pieces:
// runtime/kernel_variants.h), and matches the reference. N x C rows.
template <typename T>
void check_backward_against_rows_kernel(std::initializer_list<std::tuple<int, int, int, bool>> cases,
                                        int64_t N, int64_t C, std::mt19937 &rng) {
    const lppool::detail::BackwardKernel rows =
        lppool::detail::registered_kernel(lppool::Device::cpu, lppool::detail::Pass::backward, "rows")
            .backward[sizeof(T) == 4 ? 0 : 1];
    for (auto [K, S, L, ceil_mode] : cases) {
        for (double p : {1.0, 2.0, 2.5, 0.5}) {
            INFO("K=" << K << " S=" << S << " L=" << L << " p=" << p << " rows " << N << "x" << C);
            lppool::LPPool1d pool(p, K, S, ceil_mode);
            auto x = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
            test::fill_random(x, rng);
            auto y = pool.forward(x.buffer);
            const int out = y.dim(0).extent();
            auto dy = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
            test::fill_random(dy, rng);
            auto y_tensor = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
            y_tensor.buffer.copy_from(y);
            auto from_pool = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
            auto from_rows = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
            pool.backward(x.buffer, y, dy.buffer, from_pool.buffer);
            REQUIRE(rows(nullptr, x.buffer.raw_buffer(), y_tensor.buffer.raw_buffer(),
                         dy.buffer.raw_buffer(), p, K, S, from_rows.buffer.raw_buffer()) == 0);
            REQUIRE(from_rows.storage == from_pool.storage);
            auto want = reference::backward(x.to_reference(), y_tensor.to_reference(),
                                            dy.to_reference(), p, K, S);
            test::require_matches(from_pool, want.grad_x, backward_tolerance<T>(p), &want.magnitude);
        }
    }
}

// Many dense rows whose windows tile them (K == S) run in the kernel's
// branch that vectorizes whole windows (schedules/cpu_schedule.h): the same
// bits as each row called alone, which runs the few-rows branch, and the
// reference. L is chosen so the runtime does not fold the rows into one.
template <typename T>
void check_tiled_rows_against_single_rows(int K, int64_t L, bool ceil_mode, std::mt19937 &rng) {
    const int64_t N = 3, C = 4;
    const lppool::detail::BackwardKernel rows =
        lppool::detail::registered_kernel(lppool::Device::cpu, lppool::detail::Pass::backward, "rows")
            .backward[sizeof(T) == 4 ? 0 : 1];
    for (double p : {1.0, 2.0, 3.0, 4.0, 2.5, 0.5}) {
        INFO("K=S=" << K << " L=" << L << " ceil=" << ceil_mode << " p=" << p
                    << " dtype=" << (sizeof(T) == 4 ? "f32" : "f64"));
        lppool::LPPool1d pool(p, K, K, ceil_mode);
        auto x = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
        test::fill_random(x, rng);
        auto y = pool.forward(x.buffer);
        const int out = y.dim(0).extent();
        REQUIRE(out * K != L);  // not folded
        auto y_tensor = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
        y_tensor.buffer.copy_from(y);
        auto dy = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
        test::fill_random(dy, rng);
        auto dx = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
        pool.backward(x.buffer, y, dy.buffer, dx.buffer);
        auto one_row = [](auto &buffer, int c, int n) {
            auto row = buffer.cropped(1, c, 1).cropped(2, n, 1);
            row.set_min(0, 0, 0);
            return row;
        };
        auto dx_rows = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                auto xr = one_row(x.buffer, c, n), yr = one_row(y_tensor.buffer, c, n),
                     dyr = one_row(dy.buffer, c, n), dxr = one_row(dx_rows.buffer, c, n);
                REQUIRE(rows(nullptr, xr.raw_buffer(), yr.raw_buffer(), dyr.raw_buffer(), p, K, K,
                             dxr.raw_buffer()) == 0);
            }
        }
        REQUIRE(dx_rows.storage == dx.storage);
        auto want = reference::backward(x.to_reference(), y_tensor.to_reference(), dy.to_reference(),
                                        p, K, K);
        test::require_matches(dx, want.grad_x, backward_tolerance<T>(p), &want.magnitude);
    }
}

}  // namespace

TEST_CASE("backward: overlapping windows run the rows kernel, same bits as a direct call",
          "[backward]") {
    std::mt19937 rng(9);
    const auto cases = {std::tuple<int, int, int, bool>{16, 1, 5000, false}, {5, 2, 777, true},
                        {63, 62, 4096, true}, {2, 1, 33, false}};
    check_backward_against_rows_kernel<float>(cases, 2, 3, rng);
    check_backward_against_rows_kernel<double>(cases, 2, 3, rng);
}

TEST_CASE("backward: many rows whose windows tile them, same bits as one row at a time",
          "[backward]") {
    std::mt19937 rng(29);
    // 2, 4, 8: the tiled branches; 3: the ordinary one, for contrast.
    for (int K : {2, 4, 8, 3}) {
        for (auto [L, ceil_mode] : {std::pair<int64_t, bool>{K * 700 + 1, false},
                                    {K * 300 + K - 1, true}, {K * 5 + 1, true}}) {
            check_tiled_rows_against_single_rows<float>(K, L, ceil_mode, rng);
            check_tiled_rows_against_single_rows<double>(K, L, ceil_mode, rng);
        }
    }
}

TEST_CASE("backward: short rows folded into one and long rows cut into pieces, same bits",
          "[backward]") {
    std::mt19937 rng(19);
    // Short rows whose windows tile them (folded), gaps between windows,
    // and long rows of few-row calls (cut into pieces of 32-2048 windows, the
    // last one partial in ceil mode, or pieces that hold every element, no
    // rest); overlapping long rows are not cut.
    const auto short_rows = {std::tuple<int, int, int, bool>{4, 4, 256, false}, {3, 5, 100, false},
                             {2, 2, 2, false}};
    const auto long_rows = {std::tuple<int, int, int, bool>{4, 4, 65536 + 12, true},
                            {3, 5, 5 * 20000 + 2, true}, {8, 8, 8 * 40000, false},
                            {16, 1, 40000, false}, {4, 4, 4 * 65536, false}};
    for (int64_t C : {1, 3}) {
        check_backward_against_rows_kernel<float>(short_rows, 4, 8 * C, rng);
        check_backward_against_rows_kernel<double>(short_rows, 4, 8 * C, rng);
        check_backward_against_rows_kernel<float>(long_rows, 1, C, rng);
        check_backward_against_rows_kernel<double>(long_rows, 1, C, rng);
    }
}


TEST_CASE("backward matches the float64 reference over the grid", "[backward][grid]") {
    std::mt19937 rng(4321);
    CHECK(test::check_backward_grid(lppool::Device::cpu, rng) == test::kGridCases);
}

TEST_CASE("backward in float16 and bfloat16 matches the float64 reference over the grid",
          "[backward][grid][half]") {
    std::mt19937 rng(8765);
    CHECK(test::check_half_backward_grid(lppool::Device::cpu, rng) == test::kGridCases);
}

TEST_CASE("backward: parallel paths (many rows, one long row)", "[backward]") {
    std::mt19937 rng(8);
    for (Layout layout : {Layout::NCL, Layout::NLC, Layout::Strided}) {
        for (double p : {1.0, 2.0, 4.0, 2.5}) {
            // Inputs past kSerialBelowInputBytes: the loops run on the thread pool.
            static_assert(8 * 8 * 2201 * sizeof(float) >= lppool::variants::kSerialBelowInputBytes);
            for (auto shape : {std::array<int64_t, 3>{8, 8, 2201}, std::array<int64_t, 3>{1, 1, 300001},
                               std::array<int64_t, 3>{1, 2, 100001}}) {
                INFO(test::layout_name(layout) << " p=" << p << " L=" << shape[2]);
                lppool::LPPool1d pool(p, 7, 3, true);
                auto x = test::make_tensor<float>(layout, 3, shape[0], shape[1], shape[2]);
                test::fill_random(x, rng);
                auto y = pool.forward(x.buffer);
                auto dy = test::make_tensor<float>(layout, 3, shape[0], shape[1], y.dim(0).extent());
                test::fill_random(dy, rng);
                auto dx = test::make_tensor<float>(layout, 3, shape[0], shape[1], shape[2]);
                pool.backward(x.buffer, y, dy.buffer, dx.buffer);
                reference::Tensor y_ref(shape[0], shape[1], y.dim(0).extent());
                for (int64_t n = 0; n < shape[0]; n++)
                    for (int64_t c = 0; c < shape[1]; c++)
                        for (int64_t j = 0; j < y.dim(0).extent(); j++) y_ref.at(n, c, j) = y(j, c, n);
                auto want = reference::backward(x.to_reference(), y_ref, dy.to_reference(), p, 7, 3);
                test::require_matches(dx, want.grad_x, 1e-5 * std::max(1.0, p - 1), &want.magnitude);
            }
        }
    }
}

// Central differences of L(x) = sum_w dy[w] * y[w](x) against the kernel's
// gradient, in float64. |x| stays away from 0, where |x|^p has a kink.
TEST_CASE("backward matches central finite differences of the forward", "[backward][fd]") {
    std::mt19937 rng(77);
    for (double p : {0.5, 1.0, 1.5, 2.0, 3.0, 7.0, 30.0}) {
        for (auto [K, S, ceil_mode] : {std::tuple<int64_t, int64_t, bool>{3, 1, false},
                                       {4, 4, false}, {5, 3, true}, {2, 5, true}}) {
            const int64_t L = 23;
            INFO("p=" << p << " K=" << K << " S=" << S << " ceil=" << ceil_mode);
            lppool::LPPool1d pool(p, K, S, ceil_mode);
            auto x = test::make_tensor<double>(Layout::NCL, 3, 1, 2, L);
            test::fill_random_magnitudes(x, rng, 0.2, 1.5);
            auto y = pool.forward(x.buffer);
            Halide::Runtime::Buffer<double> dy(y.dim(0).extent(), 2, 1);
            std::uniform_real_distribution<double> dist(-1, 1);
            test::for_each_value(dy, [&](double &v) { v = dist(rng); });
            auto dx = pool.backward(x.buffer, y, dy);

            auto loss = [&](const Halide::Runtime::Buffer<double> &xs) {
                auto ys = pool.forward(xs);
                double sum = 0;
                ys.for_each_element([&](int j, int c, int n) { sum += dy(j, c, n) * ys(j, c, n); });
                return sum;
            };
            Halide::Runtime::Buffer<double> probe = x.buffer.copy();
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < L; i++) {
                    const double x0 = probe(i, c, 0);
                    const double h = 1e-6 * std::max(1.0, std::fabs(x0));
                    probe(i, c, 0) = x0 + h;
                    const double up = loss(probe);
                    probe(i, c, 0) = x0 - h;
                    const double down = loss(probe);
                    probe(i, c, 0) = x0;
                    const double fd = (up - down) / (2 * h);
                    INFO("c=" << c << " i=" << i);
                    CHECK(dx(i, c, 0) == Approx(fd).epsilon(1e-6).margin(1e-7));
                }
            }
        }
    }
}

namespace {

// The autodiff kernel works on dense (L, C, N) buffers.
template <typename T, typename AutodiffKernel>
void check_against_autodiff(AutodiffKernel autodiff, double tolerance) {
    std::mt19937 rng(2024);
    std::uniform_real_distribution<double> dist(-2, 2);
    for (double p : {0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 7.0}) {
        for (auto [K, S, ceil_mode, L] : {std::tuple<int, int, bool, int>{4, 4, false, 64},
                                          {3, 1, false, 50}, {7, 2, true, 61}, {16, 1, true, 40},
                                          {2, 5, true, 33}, {1, 1, false, 9}}) {
            INFO("p=" << p << " K=" << K << " S=" << S << " ceil=" << ceil_mode << " L=" << L);
            lppool::LPPool1d pool(p, K, S, ceil_mode);
            Halide::Runtime::Buffer<T> x(L, 3, 2);
            test::for_each_value(x, [&](T &v) {
                do {
                    v = T(dist(rng));
                } while (std::fabs(v) < 1e-3);  // autodiff of |x|^p at 0 is NaN for p < 1
            });
            auto y = pool.forward(x);
            Halide::Runtime::Buffer<T> dy(y.dim(0).extent(), 3, 2);
            test::for_each_value(dy, [&](T &v) { v = T(dist(rng)); });
            auto dx = pool.backward(x, y, dy);

            Halide::Runtime::Buffer<T> dx_autodiff(L, 3, 2);
            REQUIRE(autodiff(nullptr, x.raw_buffer(), dy.raw_buffer(), p, K, S, y.dim(0).extent(),
                             dx_autodiff.raw_buffer()) == 0);
            dx.for_each_element([&](int i, int c, int n) {
                INFO("i=" << i << " c=" << c << " n=" << n);
                CHECK(double(dx(i, c, n)) ==
                      Approx(double(dx_autodiff(i, c, n))).epsilon(tolerance).margin(tolerance));
            });
        }
    }
}

}  // namespace

TEST_CASE("closed-form backward equals Halide's propagate_adjoints of the forward",
          "[backward][autodiff]") {
    check_against_autodiff<float>(lppool1d_backward_autodiff_f32, 2e-4);
    check_against_autodiff<double>(lppool1d_backward_autodiff_f64, 1e-10);
}

TEST_CASE("backward: zero windows give zero gradient; p < 1 at zeros gives 0", "[backward]") {
    for (double p : {0.5, 1.0, 2.0, 3.0}) {
        INFO("p=" << p);
        lppool::LPPool1d pool(p, 3, 2, true);
        Halide::Runtime::Buffer<double> x(10, 1);
        const double values[10] = {0, 0, 0, 1.5, 0, -2, 0, 0, 0, 0};
        for (int i = 0; i < 10; i++) x(i, 0) = values[i];
        auto y = pool.forward(x);
        REQUIRE(y.dim(0).extent() == 5);
        Halide::Runtime::Buffer<double> dy(5, 1);
        test::fill(dy, 1.0);
        auto dx = pool.backward(x, y, dy);
        for (int i = 0; i < 10; i++) {
            INFO("i=" << i);
            CHECK(std::isfinite(dx(i, 0)));
            if (values[i] == 0) CHECK(dx(i, 0) == 0.0);
        }
        // Windows [0,3) is all zero: y = 0; elements there get exactly 0.
        CHECK(y(0, 0) == 0.0);
        // x = 1.5 is alone in windows 1 ([2,5)) and shares window 2 ([4,7)) with -2.
        CHECK(dx(3, 0) > 0);
        CHECK(dx(5, 0) < 0);
    }
}

TEST_CASE("backward: S > K leaves gaps with zero gradient; large p does not overflow",
          "[backward]") {
    lppool::LPPool1d gaps(2.0, 2, 5);
    Halide::Runtime::Buffer<float> x(12, 2);
    test::fill(x, 1.0f);
    auto y = gaps.forward(x);
    Halide::Runtime::Buffer<float> dy(y.dim(0).extent(), 2);
    test::fill(dy, 1.0f);
    auto dx = gaps.backward(x, y, dy);
    for (int i = 0; i < 12; i++) {
        const bool covered = (i % 5) < 2;
        CHECK(dx(i, 0) == (covered ? Approx(1 / std::sqrt(2.0f)) : Approx(0.0f)));
    }

    // p = 200 with |x| up to 50: the naive |x|^(p-1) * y^(1-p) overflows.
    lppool::LPPool1d large_p(200.0, 4);
    Halide::Runtime::Buffer<float> xl(8, 1);
    const float values[8] = {50, -49, 1, 2, 1e-3f, 3, 3, -3};
    for (int i = 0; i < 8; i++) xl(i, 0) = values[i];
    auto yl = large_p.forward(xl);
    Halide::Runtime::Buffer<float> dyl(2, 1);
    test::fill(dyl, 1.0f);
    auto dxl = large_p.backward(xl, yl, dyl);
    for (int i = 0; i < 8; i++) CHECK(std::isfinite(dxl(i, 0)));
    CHECK(dxl(0, 0) > 0.5f);  // the max element carries most of the gradient
    CHECK(dxl(4, 0) == Approx(0.0f).margin(1e-30));
}

// Windows whose norm y is subnormal (their gradient is still O(dy): |x| / y
// is up to 1), down to the smallest subnormal, just either side of the
// smallest normal, and near the top of the range: the ratio |x| / y and its
// power must stay finite and accurate for all of them (a reciprocal of y,
// for one, overflows there).
template <typename T>
void check_extreme_window_norms() {
    const bool f32 = std::is_same_v<T, float>;
    const std::vector<double> scales =
        f32 ? std::vector<double>{1e-45, 1e-42, 3e-39, 1.1754942e-38, 1.1754944e-38, 1e30, 1.0}
            : std::vector<double>{5e-324, 1e-320, 1e-310, 2.2250738585072e-308, 1e300, 1.0};
    std::mt19937 rng(99);
    std::uniform_real_distribution<double> unit(-1, 1);
    const int64_t K = 4, windows = 3 * int64_t(scales.size()), L = K * windows;
    for (Layout layout : {Layout::NCL, Layout::NLC, Layout::Strided}) {
        for (double p : {1.0, 2.0, 3.0, 4.0, 2.5, 0.5}) {
            INFO(test::layout_name(layout) << " p=" << p);
            lppool::LPPool1d pool(p, K);
            auto x = test::make_tensor<T>(layout, 3, 2, 9, L);
            for (int64_t n = 0; n < 2; n++)
                for (int64_t c = 0; c < 9; c++)
                    for (int64_t l = 0; l < L; l++) {
                        const double scale = scales[size_t((l / K + c + n) % int64_t(scales.size()))];
                        x.at(n, c, l) = T(l % K == 1 ? scale : scale * unit(rng));
                    }
            auto y = test::make_tensor<T>(layout, 3, 2, 9, windows);
            pool.forward(x.buffer, y.buffer);
            auto dy = test::make_tensor<T>(layout, 3, 2, 9, windows);
            test::fill_random(dy, rng);
            auto dx = test::make_tensor<T>(layout, 3, 2, 9, L);
            pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
            auto want = reference::backward(x.to_reference(), y.to_reference(), dy.to_reference(), p, K, K);
            test::require_matches(dx, want.grad_x, backward_tolerance<T>(p), &want.magnitude);
        }
    }
}

TEST_CASE("backward: subnormal and huge window norms keep their O(1) gradients", "[backward]") {
    check_extreme_window_norms<float>();
    check_extreme_window_norms<double>();
}

// float32, p < 1: a subnormal element under windows of norm ~1e6 gets a
// term (y / |x|)^(1 - p) * dy far past the float32 range (~1e41) from each
// window, while dy of alternating sign makes their sum cancel back into range
// (found by the fuzzer: the terms summed in float32 overflowed to +-Inf and
// gave NaN). Elements whose true gradient is in range must get it; the others
// (fewer windows at the row ends: no cancellation) +-Inf; where the terms
// are so large that float64's rounding of their sum passes the float32 range
// too, the result is not determined, but is not NaN. Rows (K >= 64),
// overlapping-rows and channels-last kernels.
TEST_CASE("backward: float32 p < 1 terms past the float range that cancel in the sum", "[backward]") {
    std::mt19937 rng(2026);
    std::uniform_real_distribution<double> noise(-1, 1);
    const double float_max = std::numeric_limits<float>::max();
    for (Layout layout : {Layout::NCL, Layout::NLC, Layout::Strided}) {
        int64_t cancelled = 0;  // elements with terms past the range, gradient in it
        for (auto [K, S] : {std::pair<int64_t, int64_t>{8, 2}, {68, 2}, {6, 3}}) {
            for (double p : {0.1, 0.15}) {
                INFO(test::layout_name(layout) << " K=" << K << " S=" << S << " p=" << p);
                lppool::LPPool1d pool(p, K, S);
                const int64_t N = 2, C = 9, L = 40 * K;
                auto x = test::make_tensor<float>(layout, 3, N, C, L);
                for (int64_t n = 0; n < N; n++)
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t l = 0; l < L; l++)
                            x.at(n, c, l) = l % S == 0 ? 1e6f : (noise(rng) < 0 ? -1e-40f : 1e-40f);
                const int64_t out = pool.output_length(L);
                auto y = test::make_tensor<float>(layout, 3, N, C, out);
                pool.forward(x.buffer, y.buffer);
                auto dy = test::make_tensor<float>(layout, 3, N, C, out);
                for (int64_t n = 0; n < N; n++)
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t j = 0; j < out; j++)
                            dy.at(n, c, j) = float((j % 2 ? -1 : 1) * (1 + 1e-4 * noise(rng)));
                auto dx = test::make_tensor<float>(layout, 3, N, C, L);
                pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
                auto want = reference::backward(x.to_reference(), y.to_reference(), dy.to_reference(), p, K, S);
                for (int64_t n = 0; n < N; n++)
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t l = 0; l < L; l++) {
                            const reference::real w = want.grad_x.at(n, c, l);
                            const double got = dx.at(n, c, l);
                            INFO("element (" << n << ", " << c << ", " << l << "): got " << got << " want "
                                             << double(w) << " magnitude " << double(want.magnitude.at(n, c, l)));
                            // Summed in float64: its rounding is relative to the
                            // terms' magnitude, then one rounding to float32 and
                            // pow's, relative to |want| itself.
                            const reference::real m = want.magnitude.at(n, c, l);
                            if (1e-12 * m > float_max) {  // beyond what a float64 sum resolves
                                REQUIRE(!std::isnan(got));
                                continue;
                            }
                            if (std::fabs(w) > float_max) {
                                REQUIRE(got == std::copysign(std::numeric_limits<double>::infinity(), double(w)));
                                continue;
                            }
                            cancelled += m > float_max;
                            REQUIRE(std::fabs(got - w) <= 1e-5 * std::fabs(w) + 1e-12 * m + 1e-30);
                        }
            }
        }
        INFO(test::layout_name(layout));
        REQUIRE(cancelled > 0);  // the case the test is about did occur
    }
}

// Channels-last kernels run when C is contiguous and there are at least 8
// channels (fewer go to the rows kernel's strided path, covered by the grid).
TEST_CASE("channels-last kernels: forward and backward with C >= 8", "[forward][backward]") {
    std::mt19937 rng(31);
    for (int64_t C : {8, 9, 37}) {
        for (double p : {1.0, 2.0, 3.0, 2.5, 0.5, 200.0}) {
            for (auto [K, S, ceil_mode, L] : {std::tuple<int64_t, int64_t, bool, int64_t>{4, 4, false, 64},
                                              {3, 1, true, 50}, {7, 2, true, 301}, {1, 1, false, 5},
                                              {5, 8, true, 77}}) {
                for (int64_t N : {1, 9}) {  // few batch items: tasks along L; many: per item
                    INFO("C=" << C << " N=" << N << " p=" << p << " K=" << K << " S=" << S
                              << " ceil=" << ceil_mode << " L=" << L);
                    lppool::LPPool1d pool(p, K, S, ceil_mode);
                    auto x = test::make_tensor<float>(Layout::NLC, 3, N, C, L);
                    test::fill_random(x, rng);
                    auto y = test::make_tensor<float>(Layout::NLC, 3, N, C, pool.output_length(L));
                    pool.forward(x.buffer, y.buffer);
                    test::require_matches(y, reference::forward(x.to_reference(), p, K, S, ceil_mode), 1e-5);

                    auto dy = test::make_tensor<float>(Layout::NLC, 3, N, C, y.L);
                    test::fill_random(dy, rng);
                    auto dx = test::make_tensor<float>(Layout::NLC, 3, N, C, L);
                    pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
                    auto want = reference::backward(x.to_reference(), y.to_reference(), dy.to_reference(), p, K, S);
                    test::require_matches(dx, want.grad_x, backward_tolerance<float>(p), &want.magnitude);
                }
            }
        }
    }
}
