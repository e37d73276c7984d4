// The kernels of schedules/kernels.def as C++ (internal to runtime/ and its
// tests): their declarations and one table entry per line, device and GPU
// API, so nothing here lists kernels by hand. The generated headers declare
// the same functions; a test includes both, so a signature that drifted
// would not compile.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "HalideRuntime.h"
#include "dtypes.h"
#include "lppool1d.h"

#define LPPOOL_KERNEL_SIGNATURE_forward \
    (const void *, halide_buffer_t *, double, int32_t, int32_t, halide_buffer_t *)
#define LPPOOL_KERNEL_SIGNATURE_backward                                                      \
    (const void *, halide_buffer_t *, halide_buffer_t *, halide_buffer_t *, double, int32_t, \
     int32_t, halide_buffer_t *)

#ifdef LPPOOL_WITH_CUDA
#define LPPOOL_IF_CUDA(...) __VA_ARGS__
#else
#define LPPOOL_IF_CUDA(...)
#endif
#ifdef LPPOOL_WITH_OPENCL
#define LPPOOL_IF_OPENCL(...) __VA_ARGS__
#else
#define LPPOOL_IF_OPENCL(...)
#endif

// A kernels.def line, once per device it is built for: `each(pass, variant,
// device, name suffix)`, a cpu line once, a gpu line per GPU API of the build.
#define LPPOOL_EACH_DEVICE_cpu(each, pass, variant) each(pass, variant, cpu, )
#define LPPOOL_EACH_DEVICE_gpu(each, pass, variant)       \
    LPPOOL_IF_CUDA(each(pass, variant, cuda, _cuda))       \
    LPPOOL_IF_OPENCL(each(pass, variant, opencl, _opencl))

#define LPPOOL_KERNEL_NAME(key, pass, variant, suffix) lppool1d_##pass##_##key##_##variant##suffix
#define LPPOOL_DECLARE_KERNEL(key, code, bits, name, pass, variant, suffix) \
    extern "C" int LPPOOL_KERNEL_NAME(key, pass, variant, suffix) LPPOOL_KERNEL_SIGNATURE_##pass;
#define LPPOOL_DECLARE_KERNELS(pass, variant, device, suffix) \
    LPPOOL_EACH_DTYPE(LPPOOL_DECLARE_KERNEL, pass, variant, suffix)
#define LPPOOL_KERNEL(schedule, pass, variant, params) \
    LPPOOL_EACH_DEVICE_##schedule(LPPOOL_DECLARE_KERNELS, pass, variant)
#include "kernels.def"
#undef LPPOOL_KERNEL

namespace lppool::detail {

using ForwardKernel = int(*) LPPOOL_KERNEL_SIGNATURE_forward;
using BackwardKernel = int(*) LPPOOL_KERNEL_SIGNATURE_backward;

enum class Pass { forward, backward };

// One line of kernels.def on one device: its kernel per dtype (in the order
// of schedules/dtypes.def, detail::kDtypes) and the names errors call them by.
struct RegisteredKernel {
    Device device;
    Pass pass;
    const char *variant;
    ForwardKernel forward[kDtypeCount];    // null for a backward line
    BackwardKernel backward[kDtypeCount];  // null for a forward line
    const char *name[kDtypeCount];         // "f32_rows", "f64_rows_cuda", ...
};

#define LPPOOL_KERNEL_POINTER(key, code, bits, name, pass, variant, suffix) \
    LPPOOL_KERNEL_NAME(key, pass, variant, suffix),
#define LPPOOL_NULL_POINTER(key, code, bits, name, pass, variant, suffix) nullptr,
#define LPPOOL_KERNEL_POINTERS_forward(variant, suffix)                      \
    {LPPOOL_EACH_DTYPE(LPPOOL_KERNEL_POINTER, forward, variant, suffix)}, \
    {LPPOOL_EACH_DTYPE(LPPOOL_NULL_POINTER, forward, variant, suffix)}
#define LPPOOL_KERNEL_POINTERS_backward(variant, suffix)                     \
    {LPPOOL_EACH_DTYPE(LPPOOL_NULL_POINTER, backward, variant, suffix)}, \
    {LPPOOL_EACH_DTYPE(LPPOOL_KERNEL_POINTER, backward, variant, suffix)}
#define LPPOOL_KERNEL_LABEL(key, code, bits, name, pass, variant, suffix) #key "_" #variant #suffix,
#define LPPOOL_REGISTER_KERNELS(pass, variant, device, suffix)                                  \
    {Device::device, Pass::pass, #variant, LPPOOL_KERNEL_POINTERS_##pass(variant, suffix), \
     {LPPOOL_EACH_DTYPE(LPPOOL_KERNEL_LABEL, pass, variant, suffix)}},
inline constexpr RegisteredKernel kRegisteredKernels[] = {
#define LPPOOL_KERNEL(schedule, pass, variant, params) \
    LPPOOL_EACH_DEVICE_##schedule(LPPOOL_REGISTER_KERNELS, pass, variant)
#include "kernels.def"
#undef LPPOOL_KERNEL
};
#undef LPPOOL_REGISTER_KERNELS
#undef LPPOOL_KERNEL_LABEL
#undef LPPOOL_KERNEL_POINTERS_forward
#undef LPPOOL_KERNEL_POINTERS_backward
#undef LPPOOL_NULL_POINTER
#undef LPPOOL_KERNEL_POINTER

// The kernel of `variant` (a name kernel_variants.h returns) for a pass on a
// device. Every name the rules return is a line of kernels.def; one that is
// not is a bug here, not the caller's.
inline const RegisteredKernel &registered_kernel(Device device, Pass pass,
                                                 std::string_view variant) {
    for (const RegisteredKernel &k : kRegisteredKernels) {
        if (k.device == device && k.pass == pass && variant == k.variant) {
            return k;
        }
    }
    throw std::logic_error("lppool: no " + std::string(variant) +
                           " kernel in schedules/kernels.def for this device and pass");
}

// The staged GPU rows forward's gpu_tile_outputs per dtype, which the staging
// rule needs (set by the build from each kernel's generator parameters,
// tuned or not: LPPOOL_STAGING_TILE_<api>_<dtype key>).
#define LPPOOL_STAGING_TILE(key, code, bits, name, api) LPPOOL_STAGING_TILE_##api##_##key,
inline int64_t staging_tile_outputs(Device device, int dtype) {
    switch (device) {
#ifdef LPPOOL_WITH_CUDA
    case Device::cuda: {
        constexpr int64_t tiles[] = {LPPOOL_EACH_DTYPE(LPPOOL_STAGING_TILE, cuda)};
        return tiles[dtype];
    }
#endif
#ifdef LPPOOL_WITH_OPENCL
    case Device::opencl: {
        constexpr int64_t tiles[] = {LPPOOL_EACH_DTYPE(LPPOOL_STAGING_TILE, opencl)};
        return tiles[dtype];
    }
#endif
    default: return 0;
    }
}
#undef LPPOOL_STAGING_TILE

}  // namespace lppool::detail
