// Which kernel of schedules/kernels.def serves a call: the rules the runtime
// dispatches by, shared with lppool-tune so each shape is tuned on the kernel
// that will run it. Each rule returns a variant name of kernels.def (the
// kernel is lppool1d_<pass>_<dtype>_<variant>[_<gpu api>]). Plain constants
// and arithmetic, no kernels.
#pragma once

#include <cstdint>

#include "power_cases.h"

namespace lppool::variants {

// Channels-last kernels (C contiguous, L not) pay off with at least a
// vector's worth of channels. With fewer (stereo audio), the rows kernel's
// strided loads along L win.
inline constexpr int64_t kMinChannelsForChannelsLast = 8;

// CPU, rows layout: windows of at least this many elements go to the forward
// kernel that vectorizes along each window: from K = 64 on, a window holds
// enough lanes that summing along it beats lanes K apart.
inline constexpr int64_t kMinWideWindow = 64;

// GPU, rows layout: the forward stages (tile - 1) * S + K elements of |x|^p
// per block in shared memory, at most kMaxStagedBytes; larger spans go to
// the kernel that reads |x| from global memory.
inline constexpr int64_t kMaxStagedBytes = 16 * 1024;

inline bool fits_gpu_staging(int64_t tile_outputs, int64_t kernel_size, int64_t stride,
                             int element_bytes) {
    const int64_t span = (tile_outputs - 1) * stride + kernel_size;
    return span <= kMaxStagedBytes / element_bytes;
}

// What the rules look at.
struct Call {
    bool gpu = false;
    bool backward = false;
    bool channels_last = false;  // the buffers' layout, already checked against
                                 // kMinChannelsForChannelsLast
    int64_t kernel_size = 1, stride = 1;
    double p = 2.0;
    int element_bytes = 4;
    int64_t gpu_staging_tile = 0;  // the staged GPU rows forward's gpu_tile_outputs
};

// The variant serving `call`. CPU rows forwards: wide windows vectorize
// along the window; other powers than the exact integer ones
// (algorithm/power_cases.h) go to the build whose stride specializations
// are for a run-time p (the rows build's are for the exact powers).
inline const char *kernel_variant(const Call &call) {
    if (call.channels_last) {
        return "channels_last";
    }
    if (call.backward) {
        return "rows";
    }
    if (call.gpu) {
        return fits_gpu_staging(call.gpu_staging_tile, call.kernel_size, call.stride,
                                call.element_bytes)
                   ? "rows"
                   : "rows_unstaged";
    }
    if (call.kernel_size >= kMinWideWindow) {
        return "rows_wide_windows";
    }
    return exact_integer_power(call.p) ? "rows" : "rows_general_powers";
}

}  // namespace lppool::variants
