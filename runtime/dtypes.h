// The dtypes of schedules/dtypes.def as the runtime sees them (internal to
// runtime/ and its tests): the one statement of which element types the
// kernels take, in the kernel table's order.
#pragma once

#include <iterator>
#include <string>

#include "HalideRuntime.h"
#include "dlpack/dlpack.h"

namespace lppool::detail {

struct DtypeEntry {
    const char *key;  // "f32", as in kernel names
    halide_type_code_t code;
    int bits;
    const char *name;  // "float32", as errors and PyTorch say it
};

#include "dtypes.def"
#define LPPOOL_DTYPE_ENTRY(key, type_code, type_bits, name, ...) \
    {#key, halide_type_##type_code, type_bits, #name},
inline constexpr DtypeEntry kDtypes[] = {LPPOOL_EACH_DTYPE(LPPOOL_DTYPE_ENTRY, )};
#undef LPPOOL_DTYPE_ENTRY
inline constexpr int kDtypeCount = int(std::size(kDtypes));

// The index in kDtypes of a scalar type, or -1 when no kernel takes it.
inline int dtype_index(halide_type_code_t code, int bits, int lanes) {
    for (int i = 0; i < kDtypeCount; i++) {
        if (kDtypes[i].code == code && kDtypes[i].bits == bits && lanes == 1) {
            return i;
        }
    }
    return -1;
}

inline int dtype_index(const halide_type_t &t) { return dtype_index(t.code, t.bits, t.lanes); }

// The same for a DLPack dtype.
inline int dtype_index(const DLDataType &t) {
    const int code = t.code == kDLFloat    ? int(halide_type_float)
                     : t.code == kDLBfloat ? int(halide_type_bfloat)
                                           : -1;
    return code < 0 ? -1 : dtype_index(halide_type_code_t(code), t.bits, t.lanes);
}

// "float32, float64, float16 and bfloat16".
inline std::string supported_dtype_names() {
    std::string s;
    for (int i = 0; i < kDtypeCount; i++) {
        s += std::string(i == 0 ? "" : i + 1 == kDtypeCount ? " and " : ", ") + kDtypes[i].name;
    }
    return s;
}

// The element type a kernel's buffers declare: 16-bit types travel as their
// bit patterns (algorithm/half_storage.h).
inline halide_type_t kernel_buffer_type(const halide_type_t &t) {
    return t.bits == 16 ? halide_type_t(halide_type_uint, 16) : t;
}

// Bytes of the type the kernel computes in: 16-bit types are widened to float32.
inline int compute_bytes(const halide_type_t &t) { return t.bits == 16 ? 4 : t.bytes(); }

}  // namespace lppool::detail
