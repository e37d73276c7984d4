// Float arithmetic the algorithm needs and Halide 14 does not give exactly:
// NaN/Inf decisions on the bits (safe under fast-math), exact constants,
// and accurate float32 powers. Plain Halide Exprs; nothing LPPool-specific.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>

#include "Halide.h"

namespace lppool {

// IEEE-754 facts in the integer domain. Halide compiles float arithmetic
// with LLVM's no-NaN/no-Inf flags, under which float tests for NaN or Inf
// may be folded away; integer tests on the bits cannot be. For values >= 0,
// the unsigned order of the bits is the numeric order.
struct FloatBits {
    Halide::Type float_type, bits_type;
    uint64_t infinity;

    explicit FloatBits(Halide::Type t)
        : float_type(t), bits_type(Halide::UInt(t.bits())),
          infinity(t.bits() == 32 ? 0x7f800000ull : 0x7ff0000000000000ull) {}

    Halide::Expr bits_of(const Halide::Expr &v) const { return Halide::reinterpret(bits_type, v); }
    Halide::Expr value_of(const Halide::Expr &b) const { return Halide::reinterpret(float_type, b); }
    Halide::Expr constant(uint64_t b) const { return Halide::cast(bits_type, Halide::Expr(b)); }

    // The bits of |v| for a v that is already |x|: Halide 14 lowers a float
    // abs() it has no vector routine for (float64 vectors on x86) to
    // select(x >= 0, x, -x), which keeps -0.0 negative, and its bits read as
    // above +Inf (a vectorized rescue of an all-(-0.0) window returned +Inf).
    // Values are left as they are: -0.0 sums and powers as +0.0 does. (A
    // compare rather than a sign-bit mask: the OpenCL back end printed the
    // 64-bit mask as 0x7fffffff.)
    Halide::Expr magnitude_bits(const Halide::Expr &v) const {
        return Halide::select(v == Halide::cast(float_type, 0), constant(0), bits_of(v));
    }

    // The float constant v, exactly. Halide 14's C and OpenCL back ends print
    // every float64 constant through a float32 (1e-300 becomes 0, 1/3 loses
    // half its digits); a reinterpreted integer constant survives them all.
    Halide::Expr exact(double v) const {
        uint64_t b;
        if (float_type.bits() == 64) {
            std::memcpy(&b, &v, sizeof b);
        } else {
            const float f = static_cast<float>(v);
            uint32_t b32;
            std::memcpy(&b32, &f, sizeof b32);
            b = b32;
        }
        return value_of(constant(b));
    }
};

// Accurate float32 powers. Halide's vectorized pow forms e * log(a) in
// float32, which carries an absolute error of a few ulps of a number up to
// 88, so a relative error up to ~1e-5 in the result, on top of rounding e
// itself to float32 (the forward at p = 1.05 over x = 1e34 gave 1.13e-5;
// the backward's (|x| / y)^(p - 1) for a ratio of 6e-31 gave 1.05e-5: both
// past docs/semantics.md's 1e-5). Instead a = m * 2^k, e = e_hi + e_lo with 12
// significant bits in e_hi, and
//     e * log2(a) = e_hi * k  +  (e_lo * k + e * log2(m)),
// where e_hi * k is exact (|k| < 2^9) and its integer part is taken out
// exactly before the rest is added: float32 rounds only numbers of the size
// of e * log2(m), and the result is good to ~2e-7 * max(1, |e|).

// a = m * 2^k, m in [1, 2), from a normal float32 `scaled` = a * 2^shift
// (a value below the normal range is split exactly once scaled into it).
struct SplitFloat32 {
    Halide::Expr m, k;  // float32, int32
};
inline SplitFloat32 split_float32(const Halide::Expr &scaled, const Halide::Expr &shift) {
    using namespace Halide;
    const FloatBits fb(Float(32));
    Expr bits = fb.bits_of(scaled);
    return {fb.value_of((bits & fb.constant(0x007fffffu)) | fb.constant(0x3f800000u)),
            cast(Int(32), bits >> 23) - 127 - shift};
}

// Below the float32 normal range, by the bits (fast math may fold a float
// compare with a subnormal constant).
inline Halide::Expr below_normal_float32(const Halide::Expr &v) {
    const FloatBits fb(Halide::Float(32));
    return fb.bits_of(v) < fb.constant(0x00800000u);
}

// Polynomials for power_of_split, whose arguments are already reduced (so
// the range reduction and special cases of Halide's log and exp are not
// repeated). Least-squares fits at 4000
// Chebyshev nodes, in double, rounded to float: evaluated in float32 both
// are within 1.2e-7 relative (log2, of its value) of the true function.
inline Halide::Expr horner(const Halide::Expr &x, std::initializer_list<double> coefficients) {
    const FloatBits fb(Halide::Float(32));
    Halide::Expr r;
    for (auto c = std::rbegin(coefficients); c != std::rend(coefficients); ++c) {
        r = r.defined() ? r * x + fb.exact(*c) : fb.exact(*c);
    }
    return r;
}

// log2(m) for m in [sqrt(1/2), sqrt(2)], as t * Q(t) with t = m - 1, so that
// it keeps its relative accuracy near m = 1 (degree 9; fit error 2e-9).
inline Halide::Expr log2_near_one(const Halide::Expr &m) {
    Halide::Expr t = m - 1.0f;
    return t * horner(t, {1.44269502, -0.721347332, 0.480898201, -0.360696644, 0.288568884,
                          -0.239619046, 0.204575285, -0.191024989, 0.186312094, -0.11020159});
}

// 2^f for f in [-1/2, 1/2] (degree 6; fit error 2.6e-9).
inline Halide::Expr exp2_near_zero(const Halide::Expr &f) {
    return horner(f, {1, 0.693147182, 0.240226507, 0.0555032715, 0.00961802527, 0.00134004327,
                      0.000154697322});
}

// (m * 2^k)^e for m in (0.5, 2), |k| < 2^9 and a float64 e.
inline Halide::Expr power_of_split(const Halide::Expr &m_any, const Halide::Expr &k_any,
                                   const Halide::Expr &exponent) {
    using namespace Halide;
    const Type f32 = Float(32), i32 = Int(32);
    const FloatBits fb(f32);
    // m in [sqrt(1/2), sqrt(2)], so that a base near 1 has a log2(m) near 0,
    // as accurate relative to itself as to 1 (a = 0.99995 as 1.9999 * 2^-1
    // lost e * 2^-23 to the cancellation: 3% at e = 1e6).
    Expr above = m_any > fb.exact(1.4142135623730951), below = m_any < fb.exact(0.70710678118654752);
    Expr m = select(above, m_any * fb.exact(0.5), below, m_any * fb.exact(2.0), m_any);
    Expr k = k_any + select(above, 1, below, -1, 0);
    // Past 1e30 every base other than 1 gives 0 or Inf either way, and 1 gives 1.
    Expr e = clamp(cast(Float(64), exponent), Expr(-1e30), Expr(1e30));
    Expr e_f32 = cast(f32, e);
    Expr e_hi = fb.value_of(fb.bits_of(e_f32) & fb.constant(0xfffff000u));
    Expr e_lo = cast(f32, e - cast(Float(64), e_hi));

    Expr k_f32 = cast(f32, k);
    Expr whole = e_hi * k_f32;
    Expr whole_int = round(whole);
    // Strict, so fast-math reassociation cannot add the rest to `whole`
    // before its integer part is out (the point of the split).
    Expr whole_frac = strict_float(whole - whole_int);
    Expr rest = whole_frac + (e_lo * k_f32 + e_f32 * log2_near_one(m));
    Expr rest_int = round(rest);
    Expr fraction = rest - rest_int;  // in [-0.5, 0.5]
    // Times 2^j in two steps: j_near into the exponent bits of 2^fraction
    // (in [0.7, 1.42], so the result stays normal), then one multiply by
    // 2^(j - j_near), in [-126, 127], which rounds into the subnormal range
    // or overflows to Inf as the true value does. (Not two multiplies: fast
    // math may reassociate them and overflow 2^127 * 2^1 first.) Beyond
    // [-251, 254] the result is 0 or Inf anyway.
    Expr j = cast(i32, clamp(whole_int + rest_int, -251.0f, 254.0f));
    Expr j_near = clamp(j, -125, 127);
    Expr near = reinterpret(f32, reinterpret(i32, exp2_near_zero(fraction)) + j_near * (1 << 23));
    return near * fb.value_of(cast(UInt(32), j - j_near + 127) << 23);
}

// a^e for float32 a >= 0 and e > 0 (float64). a in {0, Inf, NaN} gives a.
inline Halide::Expr pow_nonnegative_float32(const Halide::Expr &a, const Halide::Expr &exponent) {
    using namespace Halide;
    const FloatBits fb(Float(32));
    Expr bits = fb.magnitude_bits(a);
    Expr tiny = below_normal_float32(a);
    SplitFloat32 s = split_float32(select(tiny, a * fb.exact(std::ldexp(1.0, 24)), a), select(tiny, 24, 0));
    return select(bits == 0 || bits >= fb.constant(fb.infinity), a, power_of_split(s.m, s.k, exponent));
}

// (a / b)^e for float32 a >= 0, b > 0, a / b finite (every caller's is at
// most 1) and e > 0 (float64), right where the ratio a / b falls below the
// float range and its power need not (a = 1e-40 under b = 1e10 at
// e = 0.001: 0.89): such a ratio is formed again as
// (a * 2^126) / (b * 2^-100), which is normal and exact-scaled there (a / b <
// 2^-126 means a < 4 and b >= 2^-23), and the 2^226 is taken out of its
// exponent. Where a is 0 or either is Inf or NaN, the result is a / b, which
// is (a / b)^e there.
inline Halide::Expr ratio_pow_float32(const Halide::Expr &a, const Halide::Expr &b,
                                      const Halide::Expr &exponent) {
    using namespace Halide;
    const FloatBits fb(Float(32));
    Expr inf_bits = fb.constant(fb.infinity);
    Expr ratio = a / b;
    Expr tiny = below_normal_float32(ratio);
    Expr rescaled = (a * fb.exact(std::ldexp(1.0, 126))) / (b * fb.exact(std::ldexp(1.0, -100)));
    SplitFloat32 s = split_float32(select(tiny, rescaled, ratio), select(tiny, 226, 0));
    Expr a_bits = fb.magnitude_bits(a);
    return select(a_bits == 0 || a_bits >= inf_bits || fb.bits_of(b) >= inf_bits, ratio,
                  power_of_split(s.m, s.k, exponent));
}

// a^e for a >= 0 (and finite e > 0; e is a float64 Expr, as p is), right for
// subnormal a too. float32 takes pow_nonnegative_float32. float64 takes
// pow(), which is accurate there, but Halide's vectorized pow reads a
// subnormal's exponent as if it were normal (pow(1e-40f, 0.5f) came out 59x
// too large), so such a is scaled into the normal range first and the scale
// taken back out as 2^(-shift e), a loop invariant.
inline Halide::Expr pow_nonnegative(const Halide::Expr &a, const Halide::Expr &exponent) {
    using namespace Halide;
    const Type t = a.type();
    if (t == Float(32)) return pow_nonnegative_float32(a, exponent);
    const FloatBits fb(t);
    const int shift = 53;
    Expr e = cast(t, exponent);
    Expr tiny = fb.bits_of(a) < fb.constant(0x0010000000000000ull);
    Expr scaled = select(tiny, a * fb.exact(std::ldexp(1.0, shift)), a);
    Expr unscale = select(tiny, pow(cast(t, 2), cast(t, -shift) * e), cast(t, 1));
    return pow(scaled, e) * unscale;
}

// The largest finite value of a float type (Halide's Type::max() is +inf).
inline double largest_finite(Halide::Type t) {
    return t.bits() == 32 ? 3.4028234663852886e38 : 1.7976931348623157e308;
}

// Below this power sum, terms of a window may have underflowed: the rescue
// path recomputes the window scaled by its maximum. K terms each lose at most
// the smallest normal number, so a sum that is 2^(mantissa + 3) times larger
// than K of them is accurate to well under an ulp of the result.
inline Halide::Expr underflow_risk_threshold(Halide::Type t, const Halide::Expr &kernel_size) {
    using namespace Halide;
    const int mantissa_bits = t.bits() == 32 ? 24 : 53;
    const double min_normal = t.bits() == 32 ? 1.1754943508222875e-38 : 2.2250738585072014e-308;
    return cast(t, kernel_size) * FloatBits(t).exact(std::ldexp(min_normal, mantissa_bits + 3));
}

}  // namespace lppool
