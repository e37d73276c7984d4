// The LPPool1d algorithm, written once, as plain Halide Funcs.
//
//     y[n, c, j] = ( sum_{k < K} |x[n, c, j*S + k]|^p )^(1/p)
//
// This header says *what* is computed, never *how*: it holds no scheduling.
// The AOT generators (lppool1d_generator.cpp), the schedules (schedules/),
// the tests and any user's own Halide pipeline build from these functions, so
// Lp pooling can be fused with other stages (e.g. |x| -> Lp pool -> log).
//
// Dimension order is Halide's, innermost first: x = L, c = C, n = N.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>

#include "Halide.h"

namespace lppool {

// Halide's innermost-first names for PyTorch's (N, C, L), reversed.
struct Dims {
    Halide::Var x{"x"}, c{"c"}, n{"n"};
};

// Pooling hyper-parameters and the input length, as Exprs so they can be
// runtime Params (the AOT kernels) or constants (a fused user pipeline).
// The output length is the consumer's choice (floor or ceil mode): pooled(j)
// is defined for every window j that starts inside the input.
struct PoolShape {
    Halide::Expr p;            // norm type, finite and > 0 (float64 Expr)
    Halide::Expr kernel_size;  // K >= 1 (int32)
    Halide::Expr stride;       // S >= 1 (int32)
    Halide::Expr in_length;    // L: the input is read only on [0, L)
};

// Windows that start inside the input: the most any output length can be.
inline Halide::Expr windows_starting_inside(const PoolShape &shape) {
    return (shape.in_length - 1) / shape.stride + 1;
}

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
// the range reduction and special cases of Halide's log and exp, which
// made it 1.4x Halide's pow, are not repeated). Least-squares fits at 4000
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
// is (a / b)^e there. (Splitting a and b and dividing their mantissas did the
// same in 1.04x the time; JIT, AVX2.)
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

// The values of p for which exact multiplications replace pow(). The
// schedules specialize on these; the algorithm lists them so both agree.
inline const int kExactIntegerPowers[] = {1, 2, 3, 4};

// a^p for a >= 0. The exact-integer arms give the same value as pow() (to
// rounding) but let a schedule that specializes on p fold them to multiplies.
// `general_power`, when given, replaces pow_nonnegative(a, p) in the arm for
// the other values of p.
inline Halide::Expr power_of(const Halide::Expr &a, const Halide::Expr &p,
                             const Halide::Expr &general_power = Halide::Expr()) {
    using namespace Halide;
    Expr pt = cast(a.type(), p);
    return select(pt == 1, a,
                  pt == 2, a * a,
                  pt == 3, a * a * a,
                  pt == 4, (a * a) * (a * a),
                  general_power.defined() ? general_power : pow_nonnegative(a, p));
}

// s^(1/p), with the same exact arms as power_of.
inline Halide::Expr root_of(const Halide::Expr &s, const Halide::Expr &p) {
    using namespace Halide;
    Expr pt = cast(s.type(), p);
    return select(pt == 1, s,
                  pt == 2, sqrt(s),
                  pow_nonnegative(s, 1 / cast(Float(64), p)));
}

// The closed-form gradient term: (a / y)^(p - 1) for 0 < a <= y, times a scale.
// The ratio a / y <= 1 keeps every power finite for p >= 1. For p < 1 the
// power is >= 1, and in float32 neither the ratio nor the term need be in
// range: a subnormal a under a large y underflows the ratio, and its power
// can pass the float32 range where the product with a small dy, or the sum
// over the windows, does not (a = 1e-40 under y = 4.1e3 at p = 0.1 gives a
// power of 1.8e39 per window; dy = 1 and -0.99998 in two windows cancel to a
// gradient of 2.9e38). So float32 forms p < 1 terms and their sum in float64
// (wide_scaled_ratio_power_minus_one, summed in BackwardStages::gathered_wide),
// where every such term is finite: |x| / y >= 1e-84 and p - 1 > -1. Schedules
// specialize on p < 1 so p >= 1 does not pay for it (a float64 pow per term
// made general-p backward 4x slower). For p >= 1, float32 re-forms a ratio
// that falls below the float range from rescaled magnitudes
// (ratio_pow_float32), so it keeps its power (p = 1.001, a = 1e-40 under
// y = 1e10: 0.89).
// float64, and the exact arms p = 2, 3, 4 in both types, form a / y: there
// a ratio below the dtype's range gives 0 instead of a term that small (and
// a subnormal ratio an inexact one); plain pow keeps float64 at one pow per
// term.
//
// Returns scale * (a / y)^(p - 1) in the type of a; with `small_powers`, p < 1
// takes pow_nonnegative, which stays exact for a subnormal ratio (float64
// kernels, whose sum has no wider type to move to).
inline Halide::Expr scaled_ratio_power_minus_one(const Halide::Expr &scale, const Halide::Expr &a,
                                                 const Halide::Expr &y, const Halide::Expr &p,
                                                 bool small_powers) {
    using namespace Halide;
    Expr pt = cast(a.type(), p);
    // The products with the scale are strict: fast-math let LLVM turn
    // dy * (a / y) into (dy * a) / y, and dy * a rounds in the subnormal
    // range when a is subnormal (a = y = 1.4e-45 with dy = 1.61 gave 2).
    Expr ratio = a / y;
    Expr general = a.type() == Float(32) ? scale * ratio_pow_float32(a, y, cast(Float(64), p) - 1)
                                         : scale * pow(ratio, pt - 1);
    if (small_powers) {
        // Written on p itself, as the schedules' specializations are, so
        // each specialized branch folds this select away.
        general = select(p < Expr(1.0), scale * pow_nonnegative(ratio, cast(Float(64), p) - 1), general);
    }
    return select(pt == 1, scale,
                  pt == 2, strict_float(scale * ratio),
                  pt == 3, strict_float(scale * (ratio * ratio)),
                  pt == 4, strict_float(scale * (ratio * ratio * ratio)),
                  general);
}

// scale * (a / y)^(p - 1) for p < 1, formed in float64.
inline Halide::Expr wide_scaled_ratio_power_minus_one(const Halide::Expr &scale, const Halide::Expr &a,
                                                      const Halide::Expr &y, const Halide::Expr &p) {
    using namespace Halide;
    const Type wide = Float(64);
    return cast(wide, scale) * pow_nonnegative(cast(wide, a) / cast(wide, y), cast(wide, p) - 1);
}

// (a / m)^p for 0 <= a <= m, m > 0: a rescued window's term. For p >= 1 the
// ratio may underflow, but its power is then below the dtype's range and
// negligible beside the maximum's own term, 1. For p < 1 it is not (p = 0.001:
// (1e-70)^p = 0.85, so dropping it turned an overflowing norm into max|x|), so
// the term is a^p / m^p there: both powers are finite and non-zero for finite
// non-zero a and m (float32 takes ratio_pow_float32 instead: one power,
// the ratio re-formed where it underflows). Written on p itself, as the GPU schedule's
// specializations are, so each specialized branch keeps one pow per term.
inline Halide::Expr ratio_power(const Halide::Expr &a, const Halide::Expr &m, const Halide::Expr &p) {
    using namespace Halide;
    Expr small_power = a.type() == Float(32) ? ratio_pow_float32(a, m, p)
                                             : pow_nonnegative(a, p) / pow_nonnegative(m, p);
    return select(p < Expr(1.0), small_power, power_of(a / m, p));
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

// Windows per flag of the CPU rescue: a flagged block is recomputed as
// vectors, an unflagged one skipped with one test.
inline constexpr int kRescueBlockWindows = 64;

struct ForwardStages {
    Halide::Func magnitude;        // |x|, zero beyond L (a partial window = zero padding)
    Halide::Func powered;          // |x|^p, once per input element (shared by overlapping
                                   // windows); NaN and Inf inputs pass through as themselves
    Halide::Func window_terms;     // (x, k): |x|^p of window x's k-th element, as summed
    Halide::Func power_sum;        // sum of |x|^p over each window
    Halide::Func unscaled;         // power_sum^(1/p): the plain formula, no rescue
    Halide::Func plain;            // unscaled with the NaN/Inf rules applied
    Halide::Func pooled;           // the result (CPU form): plain, or pooled_blocks in a
                                   // flagged block
    Halide::Func pooled_blocks;    // (window in block, block, c, n): written only by a scan
                                   // over the flagged blocks, which rescues the windows
                                   // that over- or underflowed and keeps the others' plain
    Halide::Func pooled_branch_free;  // the same result as one pure select per window, for
                                      // GPUs, where each thread holds its window anyway
    Halide::Func rescued_value;    // max * (sum (|x| / max)^p)^(1/p), the rescued result
    Halide::Func rescue_max_bits;  // bits of max |x| of a window
    Halide::Func rescue_sum;       // sum of (|x| / max)^p (ratio_power)
    Halide::Func rescue_bounds;    // () -> {below, above}: results outside need the rescue
    Halide::Func rescue_flags;     // (block, c, n): does any window of the block need the rescue
    Halide::RDom block_window;     // a window's index in its block, for the flags
    Halide::RDom window;           // k in [0, K)
    Halide::RDom rescued_blocks;   // the blocks with a window that needs the rescue
};

// Forward pass. `input(x, c, n)` must be readable on x in [0, L).
//
// Halide compiles float arithmetic with LLVM's no-NaN/no-Inf flags, and its
// pow() maps Inf to a large finite number. So NaN and Inf are carried and
// tested as bits: powered passes a non-finite |x| through unchanged, sums
// then propagate it as IEEE hardware does (NaN wins over Inf), and every
// decision below compares bits, which no fast-math rule can fold away.
inline ForwardStages define_forward(const Halide::Func &input, const PoolShape &shape,
                                    const Dims &d) {
    using namespace Halide;
    ForwardStages st;
    const Type t = input.output_types()[0];
    const FloatBits fb(t);
    const Var &x = d.x, &c = d.c, &n = d.n;
    Expr zero = cast(t, 0);
    Expr inf_bits = fb.constant(fb.infinity);

    // Clamped read plus likely(): the loop partitioner drops the select from
    // every window that is entirely inside the input.
    st.magnitude = Func("magnitude");
    Expr inside = likely(x < shape.in_length);
    st.magnitude(x, c, n) =
        select(inside, abs(input(min(x, shape.in_length - 1), c, n)), zero);

    // Only pow() needs the non-finite test: the exact arms' products keep
    // Inf and NaN as IEEE hardware does. (The test per term cost ~20% of a
    // bare Halide kernel of case (a), AOT, AVX2; in this pipeline the change
    // measured within noise.)
    // (A -0.0 from a vector abs passes through as itself: it sums as +0.0.)
    st.powered = Func("powered");
    Expr a = st.magnitude(x, c, n);
    st.powered(x, c, n) =
        power_of(a, shape.p,
                 select(fb.bits_of(a) >= inf_bits, a, pow_nonnegative(a, shape.p)));

    st.window = RDom(0, shape.kernel_size, "k");
    Expr element = x * shape.stride + st.window;
    // A Func of its own, so a schedule can compute a window's terms where
    // it sums them and they still are what powered computes: inlined into
    // the strict_float sum below, |x|^p would be compiled strict too (other
    // bits than a staged powered for non-integer p, and slower).
    Var k("k");
    st.window_terms = Func("window_terms");
    st.window_terms(x, k, c, n) = st.powered(x * shape.stride + k, c, n);
    st.power_sum = Func("power_sum");
    st.power_sum(x, c, n) = zero;
    // In order, k = 0, 1, ...: without strict_float, fast-math lets LLVM
    // reassociate the sum differently in vector bodies and scalar tails, so
    // a window's bits would depend on where it falls in the buffer (and a
    // stream of short blocks would not match the whole signal).
    st.power_sum(x, c, n) =
        Halide::strict_float(st.power_sum(x, c, n) + st.window_terms(x, st.window, c, n));

    st.unscaled = Func("unscaled");
    st.unscaled(x, c, n) = root_of(st.power_sum(x, c, n), shape.p);

    // A NaN or Inf sum is the result as it is (NaN: a NaN input; Inf: an Inf
    // input, or an overflow that the rescue below recomputes).
    Expr sum_bits = fb.bits_of(st.power_sum(x, c, n));
    st.plain = Func("plain");
    st.plain(x, c, n) =
        fb.value_of(select(sum_bits >= inf_bits, sum_bits, fb.bits_of(st.unscaled(x, c, n))));

    // Rescue: a window without NaN whose power sum overflowed (or came within
    // a factor 4 of it: vectorized pow may saturate instead of returning
    // inf), or fell where underflow may have eaten its terms, is recomputed as
    //     max * (sum (|x| / max)^p)^(1/p),
    // which cannot overflow or underflow; an Inf input makes it +Inf.
    st.rescue_max_bits = Func("rescue_max_bits");
    st.rescue_max_bits(x, c, n) = fb.constant(0);
    st.rescue_max_bits(x, c, n) =
        max(st.rescue_max_bits(x, c, n), fb.magnitude_bits(st.magnitude(element, c, n)));

    Expr m = fb.value_of(st.rescue_max_bits(x, c, n));
    st.rescue_sum = Func("rescue_sum");
    st.rescue_sum(x, c, n) = zero;
    st.rescue_sum(x, c, n) += ratio_power(st.magnitude(element, c, n), m, shape.p);

    Expr max_bits = st.rescue_max_bits(x, c, n);
    st.rescued_value = Func("rescued_value");
    st.rescued_value(x, c, n) = fb.value_of(
        select(max_bits >= inf_bits, inf_bits,
               fb.bits_of(select(m == 0, zero, m * root_of(st.rescue_sum(x, c, n), shape.p)))));

    // Decided on the plain result's bits (root is monotonic), so the power
    // sums need not be kept for the check; the bounds are computed once.
    st.rescue_bounds = Func("rescue_bounds");
    st.rescue_bounds() = {root_of(underflow_risk_threshold(t, shape.kernel_size), shape.p),
                          root_of(fb.exact(largest_finite(t) / 4), shape.p)};
    auto needs_rescue = [&](const Expr &plain_value) {
        Expr y_bits = fb.bits_of(plain_value);
        return y_bits <= inf_bits && (y_bits >= fb.bits_of(st.rescue_bounds()[1]) ||
                                      y_bits < fb.bits_of(st.rescue_bounds()[0]));
    };

    // CPU form: a flag per block of kRescueBlockWindows windows (does any
    // window in it need the rescue?), then a scan over the flagged blocks
    // that recomputes each whole (so it vectorizes) and keeps the plain
    // value of every window that did not need it; the result reads the plain
    // value outside flagged blocks. The common case pays one vectorized test
    // per window and one branch per block. (A 2-D Func, so the flag test is
    // a branch per block: Halide 14 tests an RDom predicate inside the
    // innermost loop, even one that depends only on an outer variable.)
    //
    // The blocks cover every window that starts inside the input, also those
    // past the output a consumer asks for (partial windows in floor mode):
    // bounding them by the output's extent needs that extent before `pooled`
    // is used, which the AOT generators cannot give. The last block's
    // padding repeats the last window and never sets its flag, so a short
    // call (a stream's block) rescues nothing for it.
    const Expr windows = windows_starting_inside(shape);
    const Expr blocks = (windows + kRescueBlockWindows - 1) / kRescueBlockWindows;
    const Var &block = x;
    Var in_block("in_block");
    auto window_at = [&](const Expr &index_in_block, const Expr &block_index) {
        return block_index * kRescueBlockWindows + index_in_block;
    };
    auto clamped = [&](const Expr &window_index) { return min(window_index, windows - 1); };

    st.rescue_flags = Func("rescue_flags");
    st.rescue_flags(block, c, n) = cast<uint8_t>(0);
    st.block_window = RDom(0, kRescueBlockWindows, "block_window");
    Expr flagged = window_at(st.block_window, block);
    st.rescue_flags(block, c, n) =
        max(st.rescue_flags(block, c, n),
            cast<uint8_t>(likely(flagged < windows) &&
                          needs_rescue(st.plain(clamped(flagged), c, n))));

    // Only the flagged blocks are written (no pure step: undef), so the
    // common case stores nothing here. `pooled` loads a block's values in
    // every block but selects them only where the flag is set: the unwritten
    // ones are discarded (memcheck, which tracks the select, stays clean).
    st.pooled_blocks = Func("pooled_blocks");
    st.pooled_blocks(in_block, block, c, n) = undef(t);
    st.rescued_blocks = RDom(0, blocks, "rescued_block");
    st.rescued_blocks.where(st.rescue_flags(st.rescued_blocks, c, n) != 0);
    Expr rescued_window = clamped(window_at(in_block, st.rescued_blocks));
    Expr kept = st.plain(rescued_window, c, n);
    st.pooled_blocks(in_block, st.rescued_blocks, c, n) =
        select(needs_rescue(kept), st.rescued_value(rescued_window, c, n), kept);

    st.pooled = Func("pooled");
    Expr block_of_x = x / kRescueBlockWindows;
    st.pooled(x, c, n) =
        select(st.rescue_flags(block_of_x, c, n) != 0,
               st.pooled_blocks(x % kRescueBlockWindows, block_of_x, c, n), st.plain(x, c, n));

    st.pooled_branch_free = Func("pooled_branch_free");
    st.pooled_branch_free(x, c, n) =
        select(needs_rescue(st.plain(x, c, n)), st.rescued_value(x, c, n), st.plain(x, c, n));
    return st;
}

struct BackwardStages {
    Halide::Func grad_input;     // dx: gathered, or gathered_wide for float32 at p < 1
    Halide::Func gathered;       // the sum of the terms, in the input's type
    Halide::Func gathered_wide;  // float32 only: the sum at p < 1, in float64
    Halide::RDom windows;     // the at most ceil(K / S) windows that contain an element
    Halide::Func window_norm;  // y per window, 0 outside [0, out_length)
    Halide::Func window_grad;  // dy per window, 0 outside [0, out_length)
};

// Closed-form gather backward: each dx[i] visits only the windows containing
// i, so there is no scatter and no atomics.
//
//   dx[i] = sum_w dy[w] * sign(x[i]) * (|x[i]| / y[w])^(p - 1)
//
// written with the ratio |x| / y <= 1 so large p cannot overflow. A window
// with y == 0 contributes 0 (subgradient), and so does x == 0: sign(0) = 0
// for every p (for p < 1 the power alone would be infinite; and a zero in a
// NaN window must not pick up the window's NaN through 0 * NaN).
// `output(j, c, n)` is the forward result, `grad_output(j, c, n)` is dy; both
// are read on j in [0, out_length). dx is defined on [0, L).
inline BackwardStages define_backward(const Halide::Func &input, const Halide::Func &output,
                                      const Halide::Func &grad_output, const PoolShape &shape,
                                      const Halide::Expr &out_length, const Dims &d) {
    using namespace Halide;
    BackwardStages st;
    const Type t = input.output_types()[0];
    const Var &x = d.x, &c = d.c, &n = d.n;
    Expr zero = cast(t, 0);
    Expr K = shape.kernel_size, S = shape.stride;

    // Windows w with w*S <= x < w*S + K, i.e. ceil((x - K + 1) / S) <= w <= x / S.
    // Halide's integer division rounds toward -inf, so this is exact for x < K.
    // The first may be negative and the last past the output: those windows
    // read y = 0 from window_norm below, and y == 0 contributes nothing.
    Expr first_window = (x - K + S) / S;
    Expr last_window = x / S;
    st.windows = RDom(0, (K + S - 1) / S, "w");
    Expr w = first_window + st.windows;

    // y and dy of every window, zero outside [0, out_length): so the index
    // w needs no clamp, and loads by w stay dense vector loads when a
    // schedule computes these per chunk (a clamped index made every y and dy
    // load a gather: ceil(K/S) of each per element). Clamped read plus
    // likely(), as for the forward's magnitude.
    Var j("j");
    Expr window_exists = likely(j >= 0 && j < out_length);
    Expr j_read = clamp(j, 0, out_length - 1);
    st.window_norm = Func("window_norm");
    st.window_norm(j, c, n) = select(window_exists, output(j_read, c, n), zero);
    st.window_grad = Func("window_grad");
    st.window_grad(j, c, n) = select(window_exists, grad_output(j_read, c, n), zero);

    Expr xv = input(x, c, n);
    Expr y = st.window_norm(w, c, n);
    Expr dy = st.window_grad(w, c, n);
    Expr sign = select(xv > 0, cast(t, 1), xv < 0, -cast(t, 1), zero);
    Expr contributes = w <= last_window && y != 0 && xv != 0;
    const bool wide_small_powers = t == Float(32);
    Expr term = scaled_ratio_power_minus_one(dy * sign, abs(xv), y, shape.p, !wide_small_powers);

    st.gathered = Func("gathered");
    st.gathered(x, c, n) = zero;
    st.gathered(x, c, n) += select(contributes, term, zero);
    st.grad_input = Func("grad_input");
    if (wide_small_powers) {
        const Type wide = Float(64);
        Expr wide_term = wide_scaled_ratio_power_minus_one(dy * sign, abs(xv), y, shape.p);
        st.gathered_wide = Func("gathered_wide");
        st.gathered_wide(x, c, n) = cast(wide, 0);
        st.gathered_wide(x, c, n) += select(contributes, wide_term, cast(wide, 0));
        // On p itself, as the schedules' specializations are, so that each
        // branch computes one of the two sums.
        st.grad_input(x, c, n) = select(shape.p < Expr(1.0), cast(t, st.gathered_wide(x, c, n)),
                                        st.gathered(x, c, n));
    } else {
        st.grad_input(x, c, n) = st.gathered(x, c, n);
    }
    return st;
}

}  // namespace lppool
