#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include "grid_checks.h"
#include "kernel_registry.h"
#include "kernel_variants.h"
#include "knob_space.h"
#include "lppool1d_forward_f32_rows.h"  // declares what kernel_registry.h does: same signature

using test::Layout;
using test::check_forward_case;

TEST_CASE("seed example: p=2, K=4 on ones(1, 8, 16) gives (1, 8, 4)", "[forward][seed]") {
    lppool::LPPool1d pool(2.0, 4);
    Halide::Runtime::Buffer<float> x(16, 8, 1);
    test::fill(x, 1.0f);
    auto y = pool.forward(x);
    REQUIRE(y.dimensions() == 3);
    CHECK(y.dim(2).extent() == 1);
    CHECK(y.dim(1).extent() == 8);
    CHECK(y.dim(0).extent() == 4);
    // sqrt(4 * 1^2) = 2 in every window.
    test::for_each_value(y, [](float v) { CHECK(v == Approx(2.0f).epsilon(1e-6)); });
}

TEST_CASE("seed example: p=1, K=3, S=1 on a (2, 4, 12) input gives (2, 4, 10)",
          "[forward][seed]") {
    lppool::LPPool1d pool(1.0, 3, 1);
    Halide::Runtime::Buffer<float> x(12, 4, 2);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1, 1);
    test::for_each_value(x, [&](float &v) { v = dist(rng); });
    auto y = pool.forward(x);
    REQUIRE(y.dimensions() == 3);
    CHECK(y.dim(2).extent() == 2);
    CHECK(y.dim(1).extent() == 4);
    CHECK(y.dim(0).extent() == 10);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 10; j++) {
                float want = std::fabs(x(j, c, n)) + std::fabs(x(j + 1, c, n)) + std::fabs(x(j + 2, c, n));
                CHECK(y(j, c, n) == Approx(want).epsilon(1e-6));
            }
}

TEST_CASE("extra_repr matches PyTorch's", "[forward]") {
    CHECK(lppool::LPPool1d(2.0, 4).extra_repr() == "norm_type=2.0, kernel_size=4, stride=4, ceil_mode=False");
    CHECK(lppool::LPPool1d(2.5, 3, 1, true).extra_repr() ==
          "norm_type=2.5, kernel_size=3, stride=1, ceil_mode=True");
    CHECK(lppool::LPPool1d(0.001, 2).extra_repr() ==
          "norm_type=0.001, kernel_size=2, stride=2, ceil_mode=False");
    CHECK(lppool::LPPool1d(1e30, 2).extra_repr() ==
          "norm_type=1e+30, kernel_size=2, stride=2, ceil_mode=False");
    CHECK(lppool::LPPool1d(0.1, 2).extra_repr() ==
          "norm_type=0.1, kernel_size=2, stride=2, ceil_mode=False");
    CHECK(lppool::LPPool1d(1e-5, 2).extra_repr() ==
          "norm_type=1e-05, kernel_size=2, stride=2, ceil_mode=False");
    CHECK(lppool::LPPool1d(200, 2).extra_repr() ==
          "norm_type=200.0, kernel_size=2, stride=2, ceil_mode=False");
}

TEST_CASE("output_length follows floor and ceil mode with integer arithmetic", "[forward]") {
    struct Case { int64_t L, K, S; bool ceil; int64_t want; };
    const Case cases[] = {
        {16, 4, 4, false, 4}, {16, 4, 4, true, 4},  {17, 4, 4, false, 4}, {17, 4, 4, true, 5},
        {12, 3, 1, false, 10}, {5, 8, 4, true, 1},  {10, 3, 4, true, 3},  {9, 3, 4, true, 3},
        {8, 3, 4, true, 2},   {1, 1, 1, false, 1},  {1, 1, 5, true, 1},   {7, 2, 100, true, 1},
        {int64_t(1) << 40, 3, int64_t(1) << 39, true, 2},
    };
    for (const Case &c : cases) {
        INFO("L=" << c.L << " K=" << c.K << " S=" << c.S << " ceil=" << c.ceil);
        CHECK(lppool::LPPool1d(2.0, c.K, c.S, c.ceil).output_length(c.L) == c.want);
        if (c.L < 1000) {
            CHECK(reference::output_length(c.L, c.K, c.S, c.ceil) == c.want);
        }
    }
}


TEST_CASE("forward matches the float64 reference over the grid", "[forward][grid]") {
    std::mt19937 rng(1234);
    CHECK(test::check_forward_grid(lppool::Device::cpu, rng) == test::kGridCases);
}

TEST_CASE("forward in float16 and bfloat16 matches the float64 reference over the grid",
          "[forward][grid][half]") {
    std::mt19937 rng(5678);
    CHECK(test::check_half_forward_grid(lppool::Device::cpu, rng) == test::kGridCases);
}

TEST_CASE("forward: every layout, rank and dtype on one shape", "[forward]") {
    std::mt19937 rng(99);
    for (Layout layout : {Layout::NCL, Layout::NLC, Layout::Strided}) {
        for (int rank : {2, 3}) {
            for (bool view : {false, true}) {
                check_forward_case<float>(layout, rank, 2.5, 5, 3, true, 1000, rng, view);
                check_forward_case<double>(layout, rank, 2.5, 5, 3, true, 1000, rng, view);
            }
        }
    }
}

TEST_CASE("forward: many rows and long single rows take the parallel paths", "[forward]") {
    std::mt19937 rng(5);
    // 64 rows: parallel over rows. One row of 200k: parallel along L. Every
    // input is past kSerialBelowInputBytes, so the loops run on the thread
    // pool.
    static_assert(8 * 8 * 2201 * sizeof(float) >= lppool::variants::kSerialBelowInputBytes);
    for (Layout layout : {Layout::NCL, Layout::NLC, Layout::Strided}) {
        for (double p : {1.0, 2.0, 3.0, 2.5}) {
            lppool::LPPool1d pool(p, 8, 6, true);
            for (auto shape : {std::array<int64_t, 3>{8, 8, 2201}, std::array<int64_t, 3>{1, 1, 200003},
                               std::array<int64_t, 3>{1, 2, 100001}}) {
                auto x = test::make_tensor<float>(layout, 3, shape[0], shape[1], shape[2]);
                test::fill_random(x, rng);
                auto y = test::make_tensor<float>(layout, 3, shape[0], shape[1], pool.output_length(shape[2]));
                pool.forward(x.buffer, y.buffer);
                INFO(test::layout_name(layout) << " p=" << p << " shape " << shape[0] << "x" << shape[1] << "x" << shape[2]);
                test::require_matches(y, reference::forward(x.to_reference(), p, 8, 6, true), 1e-5);
            }
        }
    }
}

TEST_CASE("forward into a new buffer keeps the input's layout", "[forward]") {
    lppool::LPPool1d pool(2.0, 4, 2);
    auto x = test::make_tensor<float>(Layout::NLC, 3, 2, 5, 40);
    std::mt19937 rng(3);
    test::fill_random(x, rng);
    auto y = pool.forward(x.buffer);
    CHECK(y.dim(1).stride() == 1);
    CHECK(y.dim(0).stride() == 5);
    auto want = reference::forward(x.to_reference(), 2.0, 4, 2, false);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 5; c++)
            for (int j = 0; j < 19; j++) CHECK(y(j, c, n) == Approx(double(want.at(n, c, j))).epsilon(1e-5));

    Halide::Runtime::Buffer<double> x2_storage(9, 3);
    test::fill(x2_storage, 1.0);
    Halide::Runtime::Buffer<const double> x2 = x2_storage;
    auto y2 = pool.forward(x2);
    CHECK(y2.dimensions() == 2);
    CHECK(y2.dim(0).extent() == 3);
    test::for_each_value(y2, [](double v) { CHECK(v == Approx(2.0).epsilon(1e-12)); });
}

TEST_CASE("forward: large windows take the along-window kernels", "[forward]") {
    std::mt19937 rng(64);
    int cases = 0;
    for (double p : {1.0, 2.0, 3.0, 2.5, 0.5, 200.0}) {
        for (auto [K, S, ceil_mode] : {std::tuple<int64_t, int64_t, bool>{64, 64, false}, {65, 13, true},
                                       {100, 1, false}, {1024, 512, true}, {200, 300, true}}) {
            for (int64_t L : {K, K + 1, 3 * K + 7, int64_t(4000)}) {
                const Layout layout = Layout(cases % 3);
                const int rank = 2 + cases % 2;
                if (cases % 2) {
                    check_forward_case<float>(layout, rank, p, K, S, ceil_mode, L, rng, cases % 4 == 0);
                } else {
                    check_forward_case<double>(layout, rank, p, K, S, ceil_mode, L, rng, cases % 4 == 0);
                }
                cases++;
            }
        }
    }
    // Few rows (tasks along L) and many rows.
    for (auto shape : {std::array<int64_t, 3>{1, 1, 100003}, std::array<int64_t, 3>{4, 8, 3001}}) {
        lppool::LPPool1d pool(2.0, 96, 40, true);
        auto x = test::make_tensor<float>(Layout::NCL, 3, shape[0], shape[1], shape[2]);
        test::fill_random(x, rng);
        auto y = test::make_tensor<float>(Layout::NCL, 3, shape[0], shape[1], pool.output_length(shape[2]));
        pool.forward(x.buffer, y.buffer);
        test::require_matches(y, reference::forward(x.to_reference(), 2.0, 96, 40, true), 1e-5);
    }
}

namespace {

using lppool::detail::ForwardKernel;

ForwardKernel cpu_forward(const char *variant, int dtype) {
    return lppool::detail::registered_kernel(lppool::Device::cpu, lppool::detail::Pass::forward,
                                             variant)
        .forward[dtype];
}

using VariantCase = std::tuple<int, int, int, bool>;  // K, S, L, ceil_mode

// The pool's result equals, bit for bit, what the rows kernel and `variant`
// give called directly (specializations change speed, never bits: the
// stream relies on it), and matches the reference. Each case runs exact and
// general powers, so each kernel also runs the powers it has no
// specializations for, on its unspecialized schedule. Inputs are N x C rows.
//
// The general-powers kernel (`general_powers_only`) runs p = 3 and 4
// through pow() rather than the exact arms (a different root: cube root vs
// pow(s, 1/3) gave different last bits). The runtime never sends it those
// powers, so there it must match the reference, not the bits.
template <typename T>
void check_variant_kernel(const char *variant, std::initializer_list<VariantCase> cases,
                          std::mt19937 &rng, int64_t N = 2, int64_t C = 3,
                          bool general_powers_only = false) {
    const double tolerance = sizeof(T) == 4 ? 1e-5 : 1e-12;
    const int dtype = sizeof(T) == 4 ? 0 : 1;
    const ForwardKernel rows = cpu_forward("rows", dtype), kernel = cpu_forward(variant, dtype);
    for (auto [K, S, L, ceil_mode] : cases) {
        for (double p : {1.0, 2.0, 2.5, 0.5, 3.0, 4.0, 1.0000001}) {
            INFO(variant << " K=" << K << " S=" << S << " L=" << L << " p=" << p);
            lppool::LPPool1d pool(p, K, S, ceil_mode);
            auto x = test::make_tensor<T>(Layout::NCL, 3, N, C, L);
            test::fill_random(x, rng);
            const int64_t out = pool.output_length(L);
            auto from_pool = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
            auto from_rows = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
            auto from_variant = test::make_tensor<T>(Layout::NCL, 3, N, C, out);
            pool.forward(x.buffer, from_pool.buffer);
            REQUIRE(rows(nullptr, x.buffer.raw_buffer(), p, K, S, from_rows.buffer.raw_buffer()) == 0);
            REQUIRE(kernel(nullptr, x.buffer.raw_buffer(), p, K, S, from_variant.buffer.raw_buffer()) == 0);
            const auto expected = reference::forward(x.to_reference(), p, K, S, ceil_mode);
            REQUIRE(from_rows.storage == from_pool.storage);
            if (general_powers_only && lppool::exact_integer_power(p)) {
                test::require_matches(from_variant, expected, tolerance);
            } else {
                REQUIRE(from_variant.storage == from_pool.storage);
            }
            test::require_matches(from_pool, expected, tolerance);
        }
    }
}

const std::initializer_list<VariantCase> kOverlappingCases = {
    {16, 1, 5000, false}, {5, 2, 777, true}, {63, 62, 4096, true}, {2, 1, 33, false}};
// Short rows: fewer than 256 outputs, windows neither wide nor overlapping.
const std::initializer_list<VariantCase> kShortRowCases = {
    {4, 4, 256, false}, {3, 5, 101, true}, {1, 1, 1, false}, {8, 8, 2040, false}, {63, 63, 2000, true}};
// Long signals: the helper's 2 x 3 rows (fewer than min_parallel_rows:
// tasks along L, or, with at least 8 pieces in all, cut into pieces of up to
// 2048 windows by the runtime (variants::full_pieces), here with a partial last
// window, gaps, and overlapping pieces of input, and with pieces that hold every
// window, no rest).
const std::initializer_list<VariantCase> kLongSignalCases = {
    {4, 4, 1024, false}, {8, 8, 65539, true}, {3, 5, 4001, true}, {1, 1, 300, false},
    {63, 63, 20000, true}, {16, 1, 40000, false}, {3, 5, 5 * 20000 + 2, true},
    {4, 4, 4 * 4096, false}, {16, 1, 16384 + 15, false}};

// General powers: 8 rows (parallel over rows), windows neither wide nor
// overlapping, every common stride (1, 2, 4, 8) and one other.
const std::initializer_list<VariantCase> kGeneralPowerCases = {
    {1, 1, 300, false}, {2, 2, 1025, true}, {4, 4, 4099, false}, {8, 8, 2048, true},
    {3, 5, 4001, true}, {63, 63, 20000, true}};

}  // namespace

// Overlapping windows, short rows and long signals run the rows kernels
// (overlapping, general-powers), in their stride-specialized row branches:
// the bits of a direct call, and the reference.
TEST_CASE("forward: overlapping windows run the rows kernels, same bits as a direct call", "[forward]") {
    std::mt19937 rng(7);
    check_variant_kernel<float>("rows_overlapping", kOverlappingCases, rng);
    check_variant_kernel<double>("rows_overlapping", kOverlappingCases, rng);
}

TEST_CASE("forward: short rows run the rows kernels, same bits as a direct call", "[forward]") {
    std::mt19937 rng(8);
    check_variant_kernel<float>("rows", kShortRowCases, rng);
    check_variant_kernel<double>("rows", kShortRowCases, rng);
}

TEST_CASE("forward: long signals (few rows) run the rows kernels, same bits as a direct call",
          "[forward]") {
    static_assert(2 * 3 < lppool::knob::min_parallel_rows.default_value,
                  "the helper's 2 x 3 rows must be few");
    std::mt19937 rng(9);
    check_variant_kernel<float>("rows", kLongSignalCases, rng);
    check_variant_kernel<double>("rows", kLongSignalCases, rng);
}

TEST_CASE("forward: powers other than the exact ones take the general-powers kernel, same bits",
          "[forward]") {
    for (double p : {1.0, 2.0, 3.0, 4.0}) {
        REQUIRE(lppool::exact_integer_power(p));
    }
    for (double p : {0.5, 2.5, 1.0000001, 5.0, 8.0}) {
        REQUIRE_FALSE(lppool::exact_integer_power(p));
    }
    std::mt19937 rng(10);
    for (int64_t C : {3, 4}) {  // 6 rows (tasks along L) and 8 (parallel over rows)
        check_variant_kernel<float>("rows_general_powers", kGeneralPowerCases, rng, 2, C, true);
        check_variant_kernel<double>("rows_general_powers", kGeneralPowerCases, rng, 2, C, true);
    }
}

TEST_CASE("every kernel of schedules/kernels.def is reachable, and every rule names one",
          "[forward][registry]") {
    using lppool::detail::kRegisteredKernels;
    using lppool::detail::Pass;
    std::set<const lppool::detail::RegisteredKernel *> reached;
    for (lppool::Device device : {lppool::Device::cpu, lppool::Device::cuda, lppool::Device::opencl}) {
        const bool built = std::any_of(std::begin(kRegisteredKernels), std::end(kRegisteredKernels),
                                       [&](const auto &k) { return k.device == device; });
        for (Pass pass : {Pass::forward, Pass::backward}) {
            for (bool channels_last : {false, true}) {
                for (int64_t K : {1, 4, 63, 64, 5000}) {
                    for (double p : {1.0, 2.0, 3.0, 4.0, 2.5, 0.5}) {
                        lppool::variants::Call call;
                        call.gpu = device != lppool::Device::cpu;
                        call.backward = pass == Pass::backward;
                        call.channels_last = channels_last;
                        call.kernel_size = K;
                        call.stride = 1;
                        call.p = p;
                        call.gpu_staging_tile = 128;
                        const char *variant = lppool::variants::kernel_variant(call);
                        INFO("device " << int(device) << " pass " << int(pass) << " " << variant);
                        if (!built) {
                            CHECK_THROWS_AS(lppool::detail::registered_kernel(device, pass, variant),
                                            std::logic_error);
                            continue;
                        }
                        const auto &k = lppool::detail::registered_kernel(device, pass, variant);
                        CHECK(std::string(k.variant) == variant);
                        CHECK((pass == Pass::forward ? k.forward[0] != nullptr && k.forward[1] != nullptr
                                                     : k.backward[0] != nullptr && k.backward[1] != nullptr));
                        reached.insert(&k);
                    }
                }
            }
        }
    }
    for (const auto &k : kRegisteredKernels) {
        INFO("kernels.def line " << k.name[0] << " is never chosen");
        CHECK(reached.count(&k) == 1);
    }
    CHECK(reached.size() == std::size(kRegisteredKernels));
}

TEST_CASE("few-row calls are cut into at least 8 pieces, and a short rest where the pieces "
          "cannot hold every window",
          "[forward][registry]") {
    using lppool::variants::full_pieces;
    struct Want {
        int64_t out_length, length, rows, count, outputs;
        bool rest;
    };
    // K = S = 4: windows tile length 4 * out_length; one element less makes
    // the last window partial (ceil mode), which only a rest can hold.
    for (const Want &w : std::initializer_list<Want>{
             {16385, 4 * 16385, 1, 8, 2048, true},  // as many 2048-window pieces as make 8
             {4096, 4 * 4096, 1, 8, 512, false},    // 8 pieces hold every window: no rest
             {4096, 4 * 4096 - 1, 1, 15, 256, true},  // one row of 16K elements, partial end
             {4096, 4 * 4096 - 1, 2, 7, 576, true},  // 512-window pieces, widened: a rest of 64
             {4096, 4 * 4096 - 1, 4, 3, 1344, true},  // 1024-window pieces, widened
             {4096, 4 * 4096, 4, 2, 2048, false},
             {2049, 4 * 2049, 4, 2, 1024, true},  // 2048-window pieces: 1 a row; 1024: 2 a row
             {256 * 8, 4 * 256 * 8 - 1, 1, 15, 128, true},  // the rest holds the partial
                                                            // last window: 7 of 256, too few
             {256 * 8, 4 * 256 * 8, 1, 8, 256, false},
             {64 * 8, 4 * 64 * 8 - 1, 1, 0, 0, false},  // 7 full pieces of 64, too few
             {64 * 8, 4 * 64 * 8, 1, 8, 64, false},
             {256 * 8 + 1, 4 * (256 * 8 + 1), 1, 8, 256, true},
             {1 << 20, 4 << 20, 8, 0, 0, false}}) {  // many rows: not cut
        INFO("out_length " << w.out_length << " length " << w.length << " rows " << w.rows);
        const lppool::variants::Pieces got = full_pieces(false, 4, 4, w.out_length, w.length, w.rows);
        CHECK(got.count == w.count);
        CHECK(got.outputs == w.outputs);
        CHECK(got.rest == w.rest);
        if (got.count > 0) {
            CHECK(got.count * w.rows >= lppool::variants::kFewRows);
            const int64_t rest = w.out_length - got.count * got.outputs;
            CHECK(rest >= 0);
            CHECK((rest > 0) == got.rest);
            CHECK(rest <= got.count * lppool::variants::kPieceAlignment);
        }
    }
    // The backward's pieces hold every element only where the windows tile
    // the input.
    CHECK_FALSE(full_pieces(true, 4, 4, 4096, 4 * 4096, 1).rest);
    CHECK(full_pieces(true, 2, 4, 4096, 4 * 4096 - 1, 1).rest);
    CHECK(full_pieces(true, 4, 4, 4096, 4 * 4096 + 3, 1).rest);
    // Overlapping windows: pieces of 256 windows or more.
    CHECK(full_pieces(false, 8, 4, 2048, 4 * 2047 + 8 - 1, 1).count == 0);
    CHECK(full_pieces(false, 8, 4, 2048, 4 * 2047 + 8, 1).outputs == 256);
    // Overlapping windows' gradients would overlap: the backward is not cut.
    CHECK(full_pieces(true, 16, 1, 1 << 20, (1 << 20) + 15, 1).count == 0);
    CHECK(full_pieces(false, 16, 1, 1 << 20, (1 << 20) + 15, 1).count == (1 << 20) / 2048);
}

TEST_CASE("forward: a window's bits do not depend on where it falls in the buffer", "[forward]") {
    // LPPool1dStream runs the kernel on short blocks and promises the offline
    // bits. Found by the stream meter: with K = 960 on 96000 interleaved
    // stereo frames, 567 window/slice pairs of the along-window kernel
    // differed by 1 ulp (its lanes' merge was reassociated differently per
    // loop version).
    std::mt19937 rng(96000);
    std::uniform_real_distribution<float> value(-0.3f, 0.3f);
    for (auto [K, S, frames] : {std::tuple<int, int, int>{960, 480, 96000}, {64, 64, 20000}, {100, 7, 9000},
                                {16, 1, 5000}, {4, 4, 3000}}) {
        for (double p : {2.0, 1.0, 2.5}) {
            INFO("K=" << K << " S=" << S << " frames=" << frames << " p=" << p);
            const int C = 2;
            std::vector<float> signal(size_t(frames) * C);
            for (float &v : signal) v = value(rng);
            const lppool::LPPool1d pool(p, K, S);
            auto interleaved = [&](int first_frame, int length) {
                halide_dimension_t dims[3] = {{0, length, C}, {0, C, 1}, {0, 1, 0}};
                return Halide::Runtime::Buffer<const float>(signal.data() + size_t(first_frame) * C, 3, dims);
            };
            const auto whole = pool.forward(interleaved(0, frames));
            const int windows = whole.dim(0).extent();
            int mismatches = 0;
            for (int w = 0; w < windows; w += 1 + w % 5) {
                for (int length : {K, K + S + 17}) {
                    if (w * S + length > frames) continue;
                    const auto cut = pool.forward(interleaved(w * S, length));
                    for (int c = 0; c < C; c++) mismatches += cut(0, c, 0) != whole(w, c, 0);
                }
            }
            CHECK(mismatches == 0);
        }
    }
}
