// float16 and bfloat16: the conversions of half_float.h against independent
// ones, the kernels against the float32 kernels they widen into (one
// rounding of the same float32 result), the numerics edges where 16 bits
// overflow or underflow and float32 does not, and every mixed-dtype error.
// (The grids of test_forward, test_backward and test_gpu check both types
// against the float64 reference.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "test_support.h"

using Catch::Matchers::Contains;
using test::Layout;

namespace {

// The compiler's IEEE half: GCC 12 has _Float16 on x86-64 and __fp16 on AArch64.
#if defined(__aarch64__)
using CompilerHalf = __fp16;
#else
using CompilerHalf = _Float16;
#endif

// The bfloat16 nearest f by distances in double, ties to the even pattern
// (independent of half_float.h's integer rounding). 0x7f80 stands for 2^128,
// the next step past the largest finite value, as IEEE rounding counts it.
uint16_t nearest_bfloat16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    const uint16_t low = uint16_t(u >> 16), high = uint16_t(low + 1);
    if (std::isinf(f)) {
        return low;
    }
    auto value = [](uint16_t bits) {
        if ((bits & 0x7fffu) == 0x7f80u) {
            return std::copysign(std::ldexp(1.0, 128), (bits & 0x8000u) ? -1.0 : 1.0);
        }
        return double(lppool::to_float(lppool::bfloat16{bits}));
    };
    const double to_low = std::fabs(double(f) - value(low)), to_high = std::fabs(value(high) - double(f));
    if (to_low != to_high) {
        return to_low < to_high ? low : high;
    }
    return (low & 1u) ? high : low;
}

// Floats around every 16-bit value: itself, the midpoints to its
// neighbours and one float32 ulp either side of them, plus random bits.
std::vector<float> rounding_probes(bool bfloat) {
    std::vector<float> probes;
    std::mt19937 rng(3);
    for (uint32_t bits = 0; bits < 0x10000u; bits++) {
        const float v = bfloat ? lppool::to_float(lppool::bfloat16{uint16_t(bits)})
                               : lppool::to_float(lppool::float16{uint16_t(bits)});
        const float next = bfloat ? lppool::to_float(lppool::bfloat16{uint16_t(bits + 1)})
                                  : lppool::to_float(lppool::float16{uint16_t(bits + 1)});
        if (!std::isfinite(v) || !std::isfinite(next) || (bits & 0x7fffu) == 0x7fffu) {
            continue;
        }
        const float mid = float((double(v) + double(next)) / 2);
        for (float f : {v, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, next)}) {
            probes.push_back(f);
        }
    }
    for (int i = 0; i < 200000; i++) {
        const uint32_t u = rng();
        float f;
        std::memcpy(&f, &u, sizeof f);
        probes.push_back(f);
    }
    for (float f : {65504.0f, 65519.99f, 65520.0f, 1e30f, 3.4e38f, std::numeric_limits<float>::infinity(),
                    0x1p-25f, 0x1.000002p-25f, 0x1p-26f, 1e-45f}) {
        probes.push_back(f);
        probes.push_back(-f);
    }
    return probes;
}

}  // namespace

TEST_CASE("float16: widening and rounding match the compiler's half type", "[half]") {
    for (uint32_t bits = 0; bits < 0x10000u; bits++) {
        CompilerHalf h;
        const uint16_t b = uint16_t(bits);
        std::memcpy(&h, &b, sizeof h);
        const float want = float(h), got = lppool::to_float(lppool::float16{b});
        INFO("pattern " << bits);
        if (std::isnan(want)) {
            REQUIRE(std::isnan(got));
        } else {
            REQUIRE(std::memcmp(&want, &got, sizeof got) == 0);
        }
    }
    for (float f : rounding_probes(false)) {
        const CompilerHalf h = CompilerHalf(f);
        uint16_t want;
        std::memcpy(&want, &h, sizeof want);
        const uint16_t got = lppool::to_float16(f).bits;
        INFO("float " << f);
        if (std::isnan(f)) {
            REQUIRE(std::isnan(lppool::to_float(lppool::float16{got})));
        } else {
            REQUIRE(got == want);
        }
    }
}

TEST_CASE("bfloat16: widening is exact and rounding is to the nearest, ties to even", "[half]") {
    for (uint32_t bits = 0; bits < 0x10000u; bits++) {
        const float got = lppool::to_float(lppool::bfloat16{uint16_t(bits)});
        const int exponent = int((bits >> 7) & 0xffu), mantissa = int(bits & 0x7fu);
        const double sign = (bits & 0x8000u) ? -1.0 : 1.0;
        INFO("pattern " << bits);
        if (exponent == 0xff) {
            REQUIRE((mantissa == 0 ? std::isinf(got) && std::signbit(got) == (sign < 0) : std::isnan(got)));
        } else {
            const double want = exponent == 0 ? sign * std::ldexp(mantissa, -133)
                                              : sign * std::ldexp(128 + mantissa, exponent - 134);
            REQUIRE(double(got) == want);
        }
    }
    for (float f : rounding_probes(true)) {
        INFO("float " << f);
        const uint16_t got = lppool::to_bfloat16(f).bits;
        if (std::isnan(f)) {
            REQUIRE(std::isnan(lppool::to_float(lppool::bfloat16{got})));
        } else {
            REQUIRE(got == nearest_bfloat16(f));
        }
    }
}

namespace {

template <typename H>
test::Tensor<float> widened(const test::Tensor<H> &t, Layout layout) {
    auto w = test::make_tensor<float>(layout, t.rank, t.N, t.C, t.L);
    for (int64_t n = 0; n < t.N; n++)
        for (int64_t c = 0; c < t.C; c++)
            for (int64_t l = 0; l < t.L; l++) w.at(n, c, l) = float(test::to_double(t.at(n, c, l)));
    return w;
}

// Every element of `got` is the float32 `want` rounded once.
template <typename H>
void require_rounded(const test::Tensor<H> &got, const test::Tensor<float> &want) {
    for (int64_t n = 0; n < got.N; n++)
        for (int64_t c = 0; c < got.C; c++)
            for (int64_t l = 0; l < got.L; l++) {
                const float w = want.at(n, c, l);
                const H rounded = test::from_double<H>(w);
                if (!test::same_bits(got.at(n, c, l), rounded) &&
                    !(std::isnan(w) && std::isnan(test::to_double(got.at(n, c, l))))) {
                    FAIL("element (n=" << n << ", c=" << c << ", l=" << l << "): got "
                                       << test::to_double(got.at(n, c, l)) << ", float32 kernel "
                                       << w);
                }
            }
}

// The half kernels are the float32 kernels' arithmetic between a widening
// load and one rounding store: the same schedule on the same lanes, so the
// same float32 bits, rounded. Forward and backward, each kernel variant.
template <typename H>
void check_rounds_float32_kernels(std::mt19937 &rng) {
    struct Case {
        double p;
        int64_t K, S, C, L;
        Layout layout;
    };
    const Case cases[] = {
        {2.0, 4, 4, 64, 4096, Layout::NCL},    // rows, K == S: whole windows per vector
        {1.0, 3, 5, 5, 1001, Layout::Strided},  // rows, gaps
        {3.0, 16, 1, 6, 3000, Layout::NCL},    // overlapping windows
        {2.5, 5, 2, 4, 777, Layout::NCL},      // general powers
        {0.5, 4, 4, 3, 20000, Layout::NCL},    // p < 1, a long signal cut into pieces
        {2.0, 100, 50, 3, 2000, Layout::NCL},  // wide windows
        {2.0, 8, 4, 16, 600, Layout::NLC},     // channels-last
    };
    for (const Case &c : cases) {
        INFO(test::dtype_name<H>() << " p=" << c.p << " K=" << c.K << " S=" << c.S << " C=" << c.C
                                   << " L=" << c.L << " " << test::layout_name(c.layout));
        const lppool::LPPool1d pool(c.p, c.K, c.S);
        const int64_t out = pool.output_length(c.L);
        auto x = test::make_tensor<H>(c.layout, 3, 2, c.C, c.L);
        test::fill_random(x, rng);
        auto y = test::make_tensor<H>(c.layout, 3, 2, c.C, out);
        pool.forward(x.buffer, y.buffer);
        auto x32 = widened(x, c.layout);
        auto y32 = test::make_tensor<float>(c.layout, 3, 2, c.C, out);
        pool.forward(x32.buffer, y32.buffer);
        require_rounded(y, y32);

        auto dy = test::make_tensor<H>(c.layout, 3, 2, c.C, out);
        test::fill_random(dy, rng, -1, 1);
        auto dx = test::make_tensor<H>(c.layout, 3, 2, c.C, c.L);
        pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
        auto dx32 = test::make_tensor<float>(c.layout, 3, 2, c.C, c.L);
        pool.backward(x32.buffer, widened(y, c.layout).buffer, widened(dy, c.layout).buffer,
                      dx32.buffer);
        require_rounded(dx, dx32);
    }
}

}  // namespace

TEST_CASE("float16 and bfloat16 kernels round the float32 kernels' results once", "[half]") {
    std::mt19937 rng(11);
    check_rounds_float32_kernels<lppool::float16>(rng);
    check_rounds_float32_kernels<lppool::bfloat16>(rng);
}

TEST_CASE("seed examples in float16 and bfloat16", "[half][seed]") {
    auto run = [](auto zero) {
        using H = decltype(zero);
        Halide::Runtime::Buffer<H> x(16, 8, 1);
        test::for_each_value(x, [](H &v) { v = test::from_double<H>(1.0); });
        auto y = lppool::LPPool1d(2.0, 4).forward(x);
        REQUIRE(y.dim(0).extent() == 4);
        REQUIRE(y.dim(1).extent() == 8);
        REQUIRE(y.dim(2).extent() == 1);
        test::for_each_value(y, [](H v) { CHECK(test::to_double(v) == 2.0); });

        Halide::Runtime::Buffer<H> x1(12, 4, 2);
        x1.for_each_element([&](int l, int c, int n) { x1(l, c, n) = test::from_double<H>(l - 2 * c + n); });
        auto y1 = lppool::LPPool1d(1.0, 3, 1).forward(x1);
        REQUIRE(y1.dim(0).extent() == 10);
        y1.for_each_element([&](int j, int c, int n) {
            double want = 0;
            for (int k = 0; k < 3; k++) want += std::fabs(test::to_double(x1(j + k, c, n)));
            CHECK(test::to_double(y1(j, c, n)) == want);  // small integers: exact
        });
    };
    run(lppool::float16{});
    run(lppool::bfloat16{});
}

namespace {

// One window of `values`, pooled with p, in H; returns y.
template <typename H>
double pool_one_window(double p, std::initializer_list<double> values) {
    const int64_t K = int64_t(values.size());
    auto x = test::make_tensor<H>(Layout::NCL, 3, 1, 1, K);
    int64_t l = 0;
    for (double v : values) x.at(0, 0, l++) = test::from_double<H>(v);
    auto y = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 1);
    lppool::LPPool1d(p, K).forward(x.buffer, y.buffer);
    return test::to_double(y.at(0, 0, 0));
}

// y is v rounded once to H (within float32's error first).
template <typename H>
void check_one_rounding(double got, double want) {
    INFO(test::dtype_name<H>() << ": got " << got << ", want " << want);
    CHECK(std::fabs(got - want) <= (test::rounding_tolerance<H>() + 1e-5) * std::fabs(want));
}

}  // namespace

TEST_CASE("float16: sums past 65504 and powers past float32 stay finite where y is", "[half][numerics]") {
    using H = lppool::float16;
    const double inf = std::numeric_limits<double>::infinity();
    // Squares of 30000 (9e8) overflow float16, not float32: y = 60000, exactly.
    CHECK(pool_one_window<H>(2.0, {30000, -30000, 30000, 30000}) == 60000.0);
    // 60000^8 overflows float32 too: the rescue gives 60000 * 2^(1/8).
    check_one_rounding<H>(pool_one_window<H>(8.0, {60000, -60000}), 60000 * std::pow(2.0, 1.0 / 8));
    check_one_rounding<H>(pool_one_window<H>(2.5, {40000, 1, 0.5, 40000}),
                          std::pow(2 * std::pow(40000.0, 2.5) + 1 + std::pow(0.5, 2.5), 1 / 2.5));
    // A y past float16's range is +Inf, as rounding 120000 is.
    CHECK(pool_one_window<H>(2.0, {60000, 60000, 60000, 60000}) == inf);
    // Subnormals: 4 * 2^-24 = 2^-22 exactly; 2^-24 squared is far below
    // float16 but a float32 normal.
    CHECK(pool_one_window<H>(1.0, {0x1p-24, -0x1p-24, 0x1p-24, 0x1p-24}) == 0x1p-22);
    check_one_rounding<H>(pool_one_window<H>(2.0, {0x1p-24, 0x1p-24, 0x1p-24, 0x1p-24}), 0x1p-23);
    // NaN and Inf as in float32.
    CHECK(std::isnan(pool_one_window<H>(2.0, {1, std::nan(""), inf, 2})));
    CHECK(pool_one_window<H>(2.0, {1, -inf, 3, 2}) == inf);
    CHECK(pool_one_window<H>(0.5, {0, 0, 0, 0}) == 0.0);
}

TEST_CASE("bfloat16: float32's overflow and underflow rescue carries over", "[half][numerics]") {
    using H = lppool::bfloat16;
    const double inf = std::numeric_limits<double>::infinity();
    // Squares of 1e30 overflow float32, those of 1e-30 underflow it.
    const double big = test::to_double(test::from_double<H>(1e30));
    const double tiny = test::to_double(test::from_double<H>(1e-30));
    check_one_rounding<H>(pool_one_window<H>(2.0, {big, big, -big, big}), 2 * big);
    check_one_rounding<H>(pool_one_window<H>(2.0, {tiny, -tiny, tiny, tiny}), 2 * tiny);
    check_one_rounding<H>(pool_one_window<H>(200.0, {big, 1, 0, 0}), big);
    CHECK(std::isnan(pool_one_window<H>(3.0, {1, inf, std::nan(""), 2})));
    CHECK(pool_one_window<H>(3.0, {1, -inf, 3, 2}) == inf);
}

TEST_CASE("float16 backward: the ratio form where y^p overflows float16", "[half][numerics]") {
    using H = lppool::float16;
    auto x = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 4);
    for (int64_t l = 0; l < 4; l++) x.at(0, 0, l) = test::from_double<H>(l % 2 ? -30000 : 30000);
    auto y = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 1);
    auto dy = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 1);
    auto dx = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 4);
    dy.at(0, 0, 0) = test::from_double<H>(2.0);
    const lppool::LPPool1d pool(2.0, 4);
    pool.forward(x.buffer, y.buffer);
    REQUIRE(test::to_double(y.at(0, 0, 0)) == 60000.0);
    pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
    // dx = dy * x / y = +-1, exactly.
    for (int64_t l = 0; l < 4; l++) CHECK(test::to_double(dx.at(0, 0, l)) == (l % 2 ? -1.0 : 1.0));
}

namespace {

template <typename A, typename B>
void check_mixed_forward(const char *message) {
    auto x = test::make_tensor<A>(Layout::NCL, 3, 1, 2, 8);
    for (int64_t l = 0; l < 8; l++) x.at(0, 0, l) = x.at(0, 1, l) = test::from_double<A>(1.0);
    auto y = test::make_tensor<B>(Layout::NCL, 3, 1, 2, 2);
    const lppool::LPPool1d pool(2.0, 4);
    CHECK_THROWS_AS(pool.forward(x.view(), y.view()), lppool::unsupported_dtype);
    CHECK_THROWS_WITH(pool.forward(x.buffer, y.buffer), Contains(message));
    for (const B &v : y.storage) REQUIRE(test::same_bits(v, test::sentinel<B>()));
}

}  // namespace

TEST_CASE("mixed dtypes with float16 or bfloat16 are an error that writes nothing", "[half][errors]") {
    check_mixed_forward<lppool::float16, float>("y has dtype float32 but x has float16");
    check_mixed_forward<float, lppool::float16>("y has dtype float16 but x has float32");
    check_mixed_forward<lppool::float16, lppool::bfloat16>("y has dtype bfloat16 but x has float16");
    check_mixed_forward<lppool::bfloat16, double>("y has dtype float64 but x has bfloat16");

    using H = lppool::bfloat16;
    const lppool::LPPool1d pool(2.0, 4);
    auto x = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 8);
    auto y = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 2);
    auto dy = test::make_tensor<lppool::float16>(Layout::NCL, 3, 1, 1, 2);
    auto dx = test::make_tensor<H>(Layout::NCL, 3, 1, 1, 8);
    for (int64_t l = 0; l < 8; l++) x.at(0, 0, l) = test::from_double<H>(1.0);
    pool.forward(x.buffer, y.buffer);
    CHECK_THROWS_WITH(pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer),
                      Contains("grad_y has dtype float16 but x has bfloat16"));
    for (const H &v : dx.storage) REQUIRE(test::same_bits(v, test::sentinel<H>()));
}

TEST_CASE("DLPack float16 and bfloat16 tensors run the half kernels", "[half][dlpack]") {
    std::mt19937 rng(5);
    auto run = [&](auto zero, DLDataTypeCode code) {
        using H = decltype(zero);
        const lppool::LPPool1d pool(2.5, 5, 3, true);
        auto x = test::make_tensor<H>(Layout::Strided, 3, 2, 3, 50);
        test::fill_random(x, rng);
        const int64_t out = pool.output_length(50);
        auto y_view = test::make_tensor<H>(Layout::NCL, 3, 2, 3, out);
        auto y_dl = test::make_tensor<H>(Layout::NCL, 3, 2, 3, out);
        pool.forward(x.view(), y_view.view());
        auto as_dlpack = [&](test::Tensor<H> &t, int64_t *shape, int64_t *strides) {
            DLTensor d{};
            d.data = t.storage.data();
            d.device = {kDLCPU, 0};
            d.ndim = 3;
            d.dtype = {uint8_t(code), 16, 1};
            const auto v = t.view();
            for (int i = 0; i < 3; i++) shape[i] = v.sizes[size_t(i)], strides[i] = v.strides[size_t(i)];
            d.shape = shape;
            d.strides = strides;
            return d;
        };
        int64_t xs[3], xst[3], ys[3], yst[3];
        const DLTensor dx = as_dlpack(x, xs, xst), dy = as_dlpack(y_dl, ys, yst);
        CHECK(pool.output_shape(dx) == std::vector<int64_t>{2, 3, out});
        pool.forward(dx, dy);
        for (size_t i = 0; i < y_dl.storage.size(); i++)
            REQUIRE(test::same_bits(y_dl.storage[i], y_view.storage[i]));
    };
    run(lppool::float16{}, kDLFloat);
    run(lppool::bfloat16{}, kDLBfloat);
}
