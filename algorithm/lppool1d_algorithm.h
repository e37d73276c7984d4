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
#include <iterator>

#include "Halide.h"
#include "float_math.h"
#include "power_cases.h"

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

// The conditions on p that the algorithm's selects test and the schedules
// specialize on, built in one place so that each specialization folds its
// select away.
inline Halide::Expr power_is(const Halide::Expr &p, int v) {
    return p == Halide::Expr(static_cast<double>(v));
}
inline Halide::Expr small_power(const Halide::Expr &p) { return p < Halide::Expr(kSmallPowersBelow); }
inline Halide::Expr not_small_power(const Halide::Expr &p) {
    return p >= Halide::Expr(kSmallPowersBelow);
}

// a^v by multiplications: (a * a) * a for 3, (a * a) * (a * a) for 4.
inline Halide::Expr integer_power(const Halide::Expr &a, int v) {
    if (v == 1) return a;
    if (v % 2 == 1) return integer_power(a, v - 1) * a;
    Halide::Expr half = integer_power(a, v / 2);
    return half * half;
}

// a^p for a >= 0. The exact-integer arms give the same value as pow() (to
// rounding) but let a schedule that specializes on p fold them to multiplies.
// `general_power`, when given, replaces pow_nonnegative(a, p) in the arm for
// the other values of p.
inline Halide::Expr power_of(const Halide::Expr &a, const Halide::Expr &p,
                             const Halide::Expr &general_power = Halide::Expr()) {
    using namespace Halide;
    Expr pt = cast(a.type(), p);
    Expr result = general_power.defined() ? general_power : pow_nonnegative(a, p);
    for (auto v = std::rbegin(kExactIntegerPowers); v != std::rend(kExactIntegerPowers); ++v) {
        result = select(pt == *v, integer_power(a, *v), result);
    }
    return result;
}

// How the non-integer powers are evaluated.
enum class PowerEvaluation {
    Accurate,        // pow_nonnegative (float_math.h): vectorized, to the documented bounds
    Differentiable,  // Halide's pow, which Halide's autodiff can differentiate (the
                     // accurate powers are formed from bits, whose derivative it takes
                     // as 0): for the autodiff cross-check only
};

// s^(1/p), with the same exact arms as power_of.
inline Halide::Expr root_of(const Halide::Expr &s, const Halide::Expr &p,
                            PowerEvaluation powers = PowerEvaluation::Accurate) {
    using namespace Halide;
    Expr pt = cast(s.type(), p);
    Expr general = powers == PowerEvaluation::Differentiable ? pow(s, 1 / pt)
                                                             : pow_nonnegative(s, 1 / cast(Float(64), p));
    return select(pt == 1, s, pt == 2, sqrt(s), general);
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
// specialize on p < 1 so p >= 1 does not pay for the float64 terms.
// For p >= 1, float32 re-forms a ratio
// that falls below the float range from rescaled magnitudes
// (ratio_pow_float32), so it keeps its power (p = 1.001, a = 1e-40 under
// y = 1e10: 0.89).
// float64, and the exact arms p = 2, 3, 4 in both types, form a / y: there
// a ratio below the dtype's range gives 0 instead of a term that small (and
// a subnormal ratio an inexact one), which keeps float64 at one power per
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
                                         : scale * pow_nonnegative(ratio, cast(Float(64), p) - 1);
    if (small_powers) {
        // Written on p itself, as the schedules' specializations are, so
        // each specialized branch folds this select away.
        general = select(small_power(p), scale * pow_nonnegative(ratio, cast(Float(64), p) - 1), general);
    }
    Expr result = general;
    for (auto v = std::rbegin(kExactIntegerPowers); v != std::rend(kExactIntegerPowers); ++v) {
        result = select(pt == *v, *v == 1 ? scale : strict_float(scale * integer_power(ratio, *v - 1)),
                        result);
    }
    return result;
}

// scale * (a / y)^(p - 1) for float32 a, y and p < 1, as a float64: the
// power comes from the float32 polynomials with its exponent in float64's
// range (PowerRange::Wide), not from a float64 pow (Halide's is a scalar
// libm call per lane, ten times the cost of the whole p >= 1 backward).
inline Halide::Expr wide_scaled_ratio_power_minus_one(const Halide::Expr &scale, const Halide::Expr &a,
                                                      const Halide::Expr &y, const Halide::Expr &p) {
    using namespace Halide;
    return cast(Float(64), scale) *
           ratio_pow_float32(a, y, cast(Float(64), p) - 1, PowerRange::Wide);
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
    Expr small_form = a.type() == Float(32) ? ratio_pow_float32(a, m, p)
                                            : pow_nonnegative(a, p) / pow_nonnegative(m, p);
    return select(small_power(p), small_form, power_of(a / m, p));
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
                                    const Dims &d,
                                    PowerEvaluation powers = PowerEvaluation::Accurate) {
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

    // The exact arms' products keep Inf and NaN as IEEE hardware does, and
    // pow_nonnegative passes them through; Halide's pow maps Inf to a large
    // finite number, so it gets the test. A float32 term needs to be right
    // only inside the normal range: the rescue below recomputes a window
    // whose sum leaves it.
    // (A -0.0 from a vector abs passes through as itself: it sums as +0.0.)
    st.powered = Func("powered");
    Expr a = st.magnitude(x, c, n);
    Expr general_power =
        powers == PowerEvaluation::Differentiable
            ? select(fb.bits_of(a) >= inf_bits, a, pow(a, cast(t, shape.p)))
        : t == Float(32) ? pow_nonnegative_float32(a, shape.p, PowerRange::NormalOnly)
                         : pow_nonnegative(a, shape.p);
    st.powered(x, c, n) = power_of(a, shape.p, general_power);

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
    st.unscaled(x, c, n) = root_of(st.power_sum(x, c, n), shape.p, powers);

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

    // 32-bit flags: a block's test is then one vector compare and reduction
    // (with 8-bit flags, LLVM assembled a block's 64 bytes one lane at a time).
    st.rescue_flags = Func("rescue_flags");
    st.rescue_flags(block, c, n) = cast<uint32_t>(0);
    st.block_window = RDom(0, kRescueBlockWindows, "block_window");
    Expr flagged = window_at(st.block_window, block);
    st.rescue_flags(block, c, n) =
        max(st.rescue_flags(block, c, n),
            cast<uint32_t>(likely(flagged < windows) &&
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
        st.grad_input(x, c, n) = select(small_power(shape.p), cast(t, st.gathered_wide(x, c, n)),
                                        st.gathered(x, c, n));
    } else {
        st.grad_input(x, c, n) = st.gathered(x, c, n);
    }
    return st;
}

}  // namespace lppool
