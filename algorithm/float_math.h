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
// of e * log2(m), and the result is good to ~3e-7 * max(1, |e|).

// a = m * 2^k, m in [sqrt(1/2), sqrt(2)), from a positive normal float32
// `scaled` = a * 2^shift (a value below the normal range is split exactly
// once scaled into it). Integer operations on the bits: the offset of
// sqrt(1/2)'s bits puts the exponent's step where m crosses sqrt(1/2), so a
// base near 1 keeps a log2(m) near 0, as accurate relative to itself as to 1.
struct SplitFloat32 {
    Halide::Expr m, k;  // float32, int32
};
inline SplitFloat32 split_float32(const Halide::Expr &scaled, const Halide::Expr &shift) {
    using namespace Halide;
    const int sqrt_half_bits = 0x3f3504f3;
    Expr bits = reinterpret(Int(32), scaled);
    Expr k = (bits - sqrt_half_bits) >> 23;  // arithmetic: floor
    return {reinterpret(Float(32), bits - (k << 23)), k - shift};
}

// Below the float32 normal range, by the bits (fast math may fold a float
// compare with a subnormal constant).
inline Halide::Expr below_normal_float32(const Halide::Expr &v) {
    const FloatBits fb(Halide::Float(32));
    return fb.bits_of(v) < fb.constant(0x00800000u);
}

// Polynomials for power_of_split, whose arguments are already reduced (so
// the range reduction and special cases of Halide's log and exp are not
// repeated). Near-minimax fits (reweighted least squares at 4000 Chebyshev
// nodes, in double), rounded to float; the errors quoted are measured with
// float32 evaluation over 200001 points of the range.
inline Halide::Expr horner(const Halide::Expr &x, std::initializer_list<double> coefficients) {
    const FloatBits fb(x.type());
    Halide::Expr r;
    for (auto c = std::rbegin(coefficients); c != std::rend(coefficients); ++c) {
        r = r.defined() ? r * x + fb.exact(*c) : fb.exact(*c);
    }
    return r;
}

// log2(m) for m in [sqrt(1/2), sqrt(2)], as t * Q(t) with t = m - 1, so that
// it keeps its relative accuracy near m = 1 (degree 7; within 9.4e-8).
inline Halide::Expr log2_near_one(const Halide::Expr &m) {
    Halide::Expr t = m - 1.0f;
    return t * horner(t, {1.44269478, -0.721357167, 0.480939448, -0.360087216, 0.286707461,
                          -0.250069052, 0.236890331, -0.145744368});
}

// 2^f for f in [-1/2, 1/2] (degree 5; within 2.4e-7 relative).
inline Halide::Expr exp2_near_zero(const Halide::Expr &f) {
    return horner(f, {1.00000012, 0.693146944, 0.240221202, 0.0555071309, 0.00967554096,
                      0.00132764713});
}

// 2^v for an integer v (int32 or int64) in t's normal exponent range, from
// the exponent bits.
inline Halide::Expr power_of_two(Halide::Type t, const Halide::Expr &v) {
    const bool is_float32 = t.bits() == 32;
    return Halide::reinterpret(t, Halide::cast(Halide::UInt(t.bits()), v + (is_float32 ? 127 : 1023))
                                      << (is_float32 ? 23 : 52));
}

// The exponent as the power functions take it: past 1e30 every base other
// than 1 gives 0 or Inf either way, and 1 gives 1.
inline Halide::Expr exponent_in_range(const Halide::Expr &exponent) {
    return Halide::clamp(Halide::cast(Halide::Float(64), exponent), Halide::Expr(-1e30),
                         Halide::Expr(1e30));
}

// e * log2(m * 2^k) as whole + fraction, fraction in [-1/2, 1/2], given
// e = e_hi + e_lo with e_hi * k exact: the integer part of e_hi * k is taken
// out before the rest is added, so rounding touches only numbers of the size
// of e * log2(m). Every operand in the one float type of the arithmetic.
struct ExponentSplit {
    Halide::Expr whole, fraction;
};
inline ExponentSplit split_exponent_product(const Halide::Expr &e_hi, const Halide::Expr &e_lo,
                                            const Halide::Expr &e, const Halide::Expr &k,
                                            const Halide::Expr &log2_m) {
    using namespace Halide;
    Expr whole = e_hi * k;
    Expr whole_int = round(whole);
    // Strict, so fast-math reassociation cannot add the rest to `whole`
    // before its integer part is out (the point of the split).
    Expr whole_frac = strict_float(whole - whole_int);
    Expr rest = whole_frac + (e_lo * k + e * log2_m);
    Expr rest_int = round(rest);
    return {whole_int + rest_int, rest - rest_int};
}

// What a float32 power must give outside the normal range.
enum class PowerRange {
    // Rounded into the subnormal range, or Inf, as the true value is.
    Exact,
    // Exact on [2^-126, 2^127); a result of 2^127 or more comes out in
    // [2^126.5, 2^127.5), one below 2^-126 under 2^-125.5. Enough for a
    // forward window term: a sum that large is recomputed by the rescue
    // (its check starts at a quarter of the largest float), and a term that
    // small is off by at most the smallest normal number, which that check
    // tolerates. One exponent add instead of the two-step scaling.
    NormalOnly,
    // As a float64 (the float32 polynomials, the exponent in float64's
    // range): for a power that may pass the float32 range where its
    // products and sums need not.
    Wide,
};

// (m * 2^k)^e for m in [sqrt(1/2), sqrt(2)], |k| < 2^9 and a float64 e.
inline Halide::Expr power_of_split(const Halide::Expr &m, const Halide::Expr &k,
                                   const Halide::Expr &exponent, PowerRange range) {
    using namespace Halide;
    const Type f32 = Float(32), i32 = Int(32);
    const FloatBits fb(f32);
    Expr e = exponent_in_range(exponent);
    Expr e_f32 = cast(f32, e);
    Expr e_hi = fb.value_of(fb.bits_of(e_f32) & fb.constant(0xfffff000u));
    Expr e_lo = cast(f32, e - cast(Float(64), e_hi));
    ExponentSplit split = split_exponent_product(e_hi, e_lo, e_f32, cast(f32, k), log2_near_one(m));
    Expr near_one = reinterpret(i32, exp2_near_zero(split.fraction));  // in [0.7, 1.42]
    if (range == PowerRange::NormalOnly) {
        Expr j = clamp(cast(i32, split.whole), -126, 127);
        return reinterpret(f32, near_one + j * (1 << 23));
    }
    if (range == PowerRange::Wide) {
        // |j| < 2^10 for the |k| < 2^9 and |e| < 2 of the callers; float64's
        // normal range takes it, and the product is exact.
        Expr j = cast(Int(64), clamp(split.whole, -1022.0f, 1023.0f));
        return cast(Float(64), reinterpret(f32, near_one)) * power_of_two(Float(64), j);
    }
    // Times 2^j in two steps: j_near into the exponent bits of 2^fraction
    // (so the result stays normal), then one multiply by 2^(j - j_near), in
    // [-126, 127], which rounds into the subnormal range or overflows to Inf
    // as the true value does. (Not two multiplies: fast math may reassociate
    // them and overflow 2^127 * 2^1 first.) Beyond [-251, 254] the result is
    // 0 or Inf anyway.
    Expr j = cast(i32, clamp(split.whole, -251.0f, 254.0f));
    Expr j_near = clamp(j, -125, 127);
    Expr near = reinterpret(f32, near_one + j_near * (1 << 23));
    return near * power_of_two(f32, j - j_near);
}

// a^e for float32 a >= 0 and e > 0 (float64). a in {0, Inf, NaN} gives a.
inline Halide::Expr pow_nonnegative_float32(const Halide::Expr &a, const Halide::Expr &exponent,
                                            PowerRange range = PowerRange::Exact) {
    using namespace Halide;
    const FloatBits fb(Float(32));
    Expr tiny = below_normal_float32(a);
    SplitFloat32 s = split_float32(select(tiny, a * fb.exact(std::ldexp(1.0, 24)), a), select(tiny, 24, 0));
    // 0 (either sign), Inf and NaN in one unsigned compare of the bits
    // without the sign: 0 - 1 wraps to the top.
    Expr magnitude = fb.bits_of(a) & fb.constant(0x7fffffffu);
    Expr special = magnitude - fb.constant(1) >= fb.constant(fb.infinity - 1);
    return select(special, a, power_of_split(s.m, s.k, exponent, range));
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
                                      const Halide::Expr &exponent,
                                      PowerRange range = PowerRange::Exact) {
    using namespace Halide;
    const FloatBits fb(Float(32));
    Expr inf_bits = fb.constant(fb.infinity);
    Expr ratio = a / b;
    Expr tiny = below_normal_float32(ratio);
    Expr rescaled = (a * fb.exact(std::ldexp(1.0, 126))) / (b * fb.exact(std::ldexp(1.0, -100)));
    SplitFloat32 s = split_float32(select(tiny, rescaled, ratio), select(tiny, 226, 0));
    Expr a_bits = fb.magnitude_bits(a);
    Expr power = power_of_split(s.m, s.k, exponent, range);
    return select(a_bits == 0 || a_bits >= inf_bits || fb.bits_of(b) >= inf_bits,
                  cast(power.type(), ratio), power);
}

// float64 powers, vectorized: Halide 14's float64 pow is a scalar libm call
// per lane (a p < 1 backward spent 73% of its time in it). The same scheme
// as power_of_split, in float64: a = m * 2^k, e = e_hi + e_lo with e_hi
// the float32 nearest e (24 bits, so e_hi * k is exact for |k| < 2^11), and
// series whose truncation is below float64 rounding.

// log2(m) for m in [sqrt(1/2), sqrt(2)]: with s = (m - 1) / (m + 1), |s| <
// 0.172, log2(m) = (2 / ln 2) atanh(s) = s * sum (2 / (ln 2 (2i + 1))) s^(2i);
// ten terms leave < 4e-18.
inline Halide::Expr log2_near_one_float64(const Halide::Expr &m) {
    Halide::Expr s = (m - Halide::Expr(1.0)) / (m + Halide::Expr(1.0));
    return s * horner(s * s, {2.8853900817779268, 0.96179669392597560, 0.57707801635558536,
                              0.41219858311113240, 0.32059889797532520, 0.26230818925253880,
                              0.22195308321368668, 0.19235933878519512, 0.16972882833987804,
                              0.15186263588304878});
}

// 2^f for float64 f in [-1/2, 1/2]: the Taylor series to degree 12 (its
// remainder is below 2e-16 relative).
inline Halide::Expr exp2_near_zero_float64(const Halide::Expr &f) {
    return horner(f, {1.0, 0.69314718055994531, 0.24022650695910071, 0.055504108664821580,
                      0.0096181291076284772, 0.0013333558146428443, 0.00015403530393381608,
                      1.5252733804059840e-05, 1.3215486790144307e-06, 1.0178086009239699e-07,
                      7.0549116208011233e-09, 4.4455382718708114e-10, 2.5678435993488202e-11});
}

// a^e for float64 a >= 0 and finite e (float64). a in {0, Inf, NaN} gives a.
inline Halide::Expr pow_nonnegative_float64(const Halide::Expr &a, const Halide::Expr &exponent) {
    using namespace Halide;
    const Type f64 = Float(64), i32 = Int(32), u64 = UInt(64);
    const FloatBits fb(f64);
    const int shift = 54;
    Expr tiny = fb.bits_of(a) < fb.constant(0x0010000000000000ull);
    // k as split_float32 finds it, with the offset of sqrt(1/2)'s bits, in
    // unsigned arithmetic (k + 1023 >= 0); m = a * 2^-k in two exact steps
    // (each power of two in range). Not bits - (k << 52), as for float32:
    // Halide folds that into a 52-bit mask, which its OpenCL back end prints
    // as 2^20 - 1.
    const uint64_t one_minus_sqrt_half_bits = 0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull;
    Expr bits = reinterpret(u64, select(tiny, a * fb.exact(std::ldexp(1.0, shift)), a));
    Expr k_int = cast(i32, (bits + Expr(one_minus_sqrt_half_bits)) >> 52) - 1023;
    Expr k_half = k_int >> 1;  // arithmetic: floor
    Expr m = (reinterpret(f64, bits) * power_of_two(f64, -k_half)) * power_of_two(f64, k_half - k_int);
    Expr k = cast(f64, k_int - select(tiny, shift, 0));

    Expr e = exponent_in_range(exponent);
    Expr e_hi = cast(f64, cast(Float(32), e));
    ExponentSplit split = split_exponent_product(e_hi, e - e_hi, e, k, log2_near_one_float64(m));
    // 2^j in two steps, as power_of_split: the first keeps the result normal,
    // the second rounds into the subnormal range or overflows as the true
    // value does. Beyond [-2043, 2046] the result is 0 or Inf anyway.
    Expr j = cast(i32, clamp(split.whole, Expr(-2043.0), Expr(2046.0)));
    Expr j_near = clamp(j, -1021, 1023);
    // (A negative j_near wraps in the unsigned add, as its bits should.)
    Expr near = reinterpret(f64, reinterpret(u64, exp2_near_zero_float64(split.fraction)) +
                                     (cast(u64, j_near) << 52));
    Expr power = near * power_of_two(f64, j - j_near);
    Expr magnitude = fb.magnitude_bits(a);
    return select(magnitude == fb.constant(0) || magnitude >= fb.constant(fb.infinity), a, power);
}

// a^e for a >= 0 (and finite e > 0; e is a float64 Expr, as p is), right for
// subnormal a too, in a's type.
inline Halide::Expr pow_nonnegative(const Halide::Expr &a, const Halide::Expr &exponent) {
    return a.type() == Halide::Float(32) ? pow_nonnegative_float32(a, exponent)
                                         : pow_nonnegative_float64(a, exponent);
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
