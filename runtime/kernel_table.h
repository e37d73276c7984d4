// The kernel tables' types and the GPU kernels (internal to runtime/).
#pragma once

#include <cstdint>

#include "HalideRuntime.h"
#include "kernel_variants.h"

#ifdef LPPOOL_WITH_CUDA
#include "lppool1d_backward_f32_channels_last_cuda.h"
#include "lppool1d_backward_f32_rows_cuda.h"
#include "lppool1d_backward_f64_channels_last_cuda.h"
#include "lppool1d_backward_f64_rows_cuda.h"
#include "lppool1d_forward_f32_channels_last_cuda.h"
#include "lppool1d_forward_f32_rows_cuda.h"
#include "lppool1d_forward_f32_rows_unstaged_cuda.h"
#include "lppool1d_forward_f64_channels_last_cuda.h"
#include "lppool1d_forward_f64_rows_cuda.h"
#include "lppool1d_forward_f64_rows_unstaged_cuda.h"
#endif
#ifdef LPPOOL_WITH_OPENCL
#include "lppool1d_backward_f32_channels_last_opencl.h"
#include "lppool1d_backward_f32_rows_opencl.h"
#include "lppool1d_backward_f64_channels_last_opencl.h"
#include "lppool1d_backward_f64_rows_opencl.h"
#include "lppool1d_forward_f32_channels_last_opencl.h"
#include "lppool1d_forward_f32_rows_opencl.h"
#include "lppool1d_forward_f32_rows_unstaged_opencl.h"
#include "lppool1d_forward_f64_channels_last_opencl.h"
#include "lppool1d_forward_f64_rows_opencl.h"
#include "lppool1d_forward_f64_rows_unstaged_opencl.h"
#endif

namespace lppool::detail {

using ForwardKernel = int (*)(const void *, halide_buffer_t *, double, int32_t, int32_t,
                              halide_buffer_t *);
using BackwardKernel = int (*)(const void *, halide_buffer_t *, halide_buffer_t *,
                               halide_buffer_t *, double, int32_t, int32_t, halide_buffer_t *);

struct KernelPair {
    ForwardKernel forward;
    BackwardKernel backward;
    const char *name;
};

struct ForwardKernelChoice {
    ForwardKernel forward;
    const char *name;
};

struct BackwardKernelChoice {
    BackwardKernel backward;
    const char *name;
};

// One device's kernels: pairs[dtype][layout] (dtype 0 = f32, 1 = f64;
// layout 0 = rows, 1 = channels-last), the alternative rows forward per
// dtype (CPU: along-window, for wide windows; GPU: without shared-memory
// staging, for spans that do not fit it), and the rows forwards for
// overlapping windows, short rows, long signals and general powers, and the
// rows backward for overlapping windows (CPU only; null where the rows
// kernels serve them).
// GPU only: staging_tile_outputs[dtype] is the staged rows forward kernel's
// gpu_tile_outputs, which the staging rule needs (set by the build from each
// kernel's generator parameters, tuned or not: LPPOOL_STAGING_TILE_<api>_<dtype>).
struct DeviceKernels {
    KernelPair pairs[2][2];
    ForwardKernelChoice rows_alternative[2];
    ForwardKernelChoice rows_overlapping[2];
    ForwardKernelChoice rows_short[2];
    ForwardKernelChoice rows_long[2];
    ForwardKernelChoice rows_general_powers[2];
    int staging_tile_outputs[2];
    BackwardKernelChoice rows_overlapping_backward[2];
};

#define LPPOOL_GPU_KERNELS(api, label)                                                        \
    DeviceKernels {                                                                           \
        {{{lppool1d_forward_f32_rows_##api, lppool1d_backward_f32_rows_##api,                 \
           "f32_rows_" label},                                                                \
          {lppool1d_forward_f32_channels_last_##api, lppool1d_backward_f32_channels_last_##api, \
           "f32_channels_last_" label}},                                                      \
         {{lppool1d_forward_f64_rows_##api, lppool1d_backward_f64_rows_##api,                 \
           "f64_rows_" label},                                                                \
          {lppool1d_forward_f64_channels_last_##api, lppool1d_backward_f64_channels_last_##api, \
           "f64_channels_last_" label}}},                                                     \
        {{lppool1d_forward_f32_rows_unstaged_##api, "f32_rows_unstaged_" label},              \
         {lppool1d_forward_f64_rows_unstaged_##api, "f64_rows_unstaged_" label}},             \
        {{nullptr, nullptr}, {nullptr, nullptr}},                                             \
        {{nullptr, nullptr}, {nullptr, nullptr}},                                             \
        {{nullptr, nullptr}, {nullptr, nullptr}},                                             \
        {{nullptr, nullptr}, {nullptr, nullptr}},                                             \
        {LPPOOL_STAGING_TILE_##api##_f32, LPPOOL_STAGING_TILE_##api##_f64},                   \
        {{nullptr, nullptr}, {nullptr, nullptr}},                                             \
    }

#ifdef LPPOOL_WITH_CUDA
inline const DeviceKernels kCudaKernels = LPPOOL_GPU_KERNELS(cuda, "cuda");
#endif
#ifdef LPPOOL_WITH_OPENCL
inline const DeviceKernels kOpenClKernels = LPPOOL_GPU_KERNELS(opencl, "opencl");
#endif

#undef LPPOOL_GPU_KERNELS

}  // namespace lppool::detail
