// float16 and bfloat16 elements for LPPool1d's TensorView and
// Halide::Runtime::Buffer: 16-bit storage types (the bit pattern only, no
// arithmetic), with exact widening to float and round-to-nearest-even
// narrowing from it. The kernels compute in float32 and round once on store.
#pragma once

#include <cstdint>
#include <cstring>

#include "HalideRuntime.h"

namespace lppool {

// IEEE 754 binary16.
struct float16 {
    uint16_t bits = 0;
};

// The upper half of a float32 (8-bit exponent, 7-bit mantissa).
struct bfloat16 {
    uint16_t bits = 0;
};

inline float to_float(bfloat16 v) {
    const uint32_t u = uint32_t(v.bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

inline float to_float(float16 v) {
    const uint32_t sign = uint32_t(v.bits & 0x8000u) << 16;
    const uint32_t exponent = (v.bits >> 10) & 0x1fu, mantissa = v.bits & 0x3ffu;
    if (exponent == 0) {  // zero and subnormals: mantissa * 2^-24, exactly
        const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
        return sign ? -magnitude : magnitude;
    }
    const uint32_t u = sign | (exponent == 0x1fu ? 0x7f800000u | (mantissa << 13)
                                                 : ((exponent + 112u) << 23) | (mantissa << 13));
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// Nearest, ties to even; beyond the range, an infinity; NaN stays NaN.
inline bfloat16 to_bfloat16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return {uint16_t((u >> 16) | 0x40u)};
    }
    return {uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

inline float16 to_float16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
    const uint32_t magnitude = u & 0x7fffffffu;
    if (magnitude > 0x7f800000u) {
        return {uint16_t(sign | 0x7e00u | ((magnitude >> 13) & 0x1ffu))};
    }
    if (magnitude >= 0x477ff000u) {  // 65520 and above round to Inf
        return {uint16_t(sign | 0x7c00u)};
    }
    if (magnitude >= 0x38800000u) {  // normal: 13 bits dropped, ties to even
        const uint32_t rebased = magnitude - (112u << 23);
        return {uint16_t(sign | ((rebased + 0xfffu + ((rebased >> 13) & 1u)) >> 13))};
    }
    // Subnormal: |f| * 2^24 to the nearest integer, ties to even.
    const uint32_t exponent = magnitude >> 23;
    if (exponent < 102) {  // below 2^-25: rounds to zero
        return {sign};
    }
    const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;
    const uint32_t kept = significand >> shift, rest = significand & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    return {uint16_t(sign | (kept + (rest > half || (rest == half && (kept & 1u)))))};
}

}  // namespace lppool

template <>
HALIDE_ALWAYS_INLINE constexpr halide_type_t halide_type_of<lppool::float16>() {
    return halide_type_t(halide_type_float, 16);
}

template <>
HALIDE_ALWAYS_INLINE constexpr halide_type_t halide_type_of<lppool::bfloat16>() {
    return halide_type_t(halide_type_bfloat, 16);
}
