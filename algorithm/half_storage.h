// 16-bit float storage (IEEE float16, bfloat16) for kernels that compute in
// float32: exact widening and round-to-nearest-even narrowing, written on
// the bits as plain Halide Exprs on UInt(16) values. Halide 14's own
// Float(16) / BFloat(16) types do not serve every back end (bfloat16 loads
// crash its PTX code generator; OpenCL needs cl_khr_fp16, which PoCL lacks)
// and are emulated with integer operations on x86 anyway, so the kernels
// keep the 16-bit patterns as UInt(16) and convert here: the same bits on
// every target. Nothing LPPool-specific.
#pragma once

#include <cstdint>

#include "Halide.h"

namespace lppool {

// A UInt(32) constant (Halide's operators take no unsigned C++ literals).
inline Halide::Expr u32(uint32_t v) { return Halide::Expr(v); }

enum class HalfFormat { float16, bfloat16 };

// float32 of the 16-bit pattern `bits` (UInt(16)), exactly: every float16
// and bfloat16 value, subnormals, infinities and NaN payloads included, is
// a float32.
inline Halide::Expr widen_half(HalfFormat format, const Halide::Expr &bits) {
    using namespace Halide;
    Expr b = cast<uint32_t>(bits);
    if (format == HalfFormat::bfloat16) {
        return reinterpret<float>(b << 16);
    }
    Expr sign = (b & u32(0x8000)) << 16;
    Expr exponent = (b >> 10) & u32(0x1f);
    Expr mantissa = b & u32(0x3ff);
    // Normal: rebias the exponent (15 -> 127); Inf and NaN keep their payload.
    Expr normal = ((b & u32(0x7fff)) << 13) + u32((127 - 15) << 23);
    Expr special = u32(0x7f800000) | (mantissa << 13);
    // Subnormal (and zero): mantissa * 2^-24, a normal float32, exactly.
    Expr subnormal = reinterpret<uint32_t>(cast<float>(mantissa) * (1.0f / 16777216.0f));
    Expr magnitude = select(exponent == 0, subnormal, exponent == u32(0x1f), special, normal);
    return reinterpret<float>(sign | magnitude);
}

// The 16-bit pattern (UInt(16)) nearest the float32 `v`, ties to even;
// beyond the format's range, an infinity; NaN stays NaN (quieted).
inline Halide::Expr narrow_to_half(HalfFormat format, const Halide::Expr &v) {
    using namespace Halide;
    Expr u = reinterpret<uint32_t>(v);
    Expr magnitude = u & u32(0x7fffffff);
    Expr is_nan = magnitude > u32(0x7f800000);
    if (format == HalfFormat::bfloat16) {
        Expr rounded = (u + (u32(0x7fff) + ((u >> 16) & u32(1)))) >> 16;
        return cast<uint16_t>(select(is_nan, (u >> 16) | u32(0x40), rounded));
    }
    Expr sign = (u >> 16) & u32(0x8000);
    // Normal float16 (|v| >= 2^-14): drop 13 mantissa bits with rounding; a
    // carry into the exponent is the right result, up to Inf at 65520.
    Expr rebased = magnitude - u32((127 - 15) << 23);
    Expr normal = (rebased + (u32(0xfff) + ((rebased >> 13) & u32(1)))) >> 13;
    // Subnormal float16: |v| * 2^24 rounded to an integer (ties to even) is
    // the pattern (1024 is the smallest normal, correctly): the float32
    // significand shifted right by 126 - exponent, rounded on the integers
    // (a float round() is not ties-to-even on every back end).
    Expr significand = (magnitude & u32(0x7fffff)) | u32(0x800000);
    Expr shift = min(u32(126) - min(magnitude >> 23, u32(112)), u32(31));
    Expr kept = significand >> shift;
    Expr rest = significand - (kept << shift);
    Expr half = u32(1) << (shift - 1);
    Expr round_up = rest > half || (rest == half && (kept & u32(1)) == u32(1));
    Expr subnormal = kept + select(round_up, u32(1), u32(0));
    Expr result = select(is_nan, u32(0x7e00) | ((magnitude >> 13) & u32(0x1ff)),
                         magnitude >= u32(0x477ff000), u32(0x7c00),  // rounds to Inf (or is Inf)
                         magnitude >= u32(0x38800000), normal,
                         subnormal);
    return cast<uint16_t>(sign | result);
}

}  // namespace lppool
