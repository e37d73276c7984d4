// Which kernel variant serves a call: the rules runtime/lppool1d.cpp
// dispatches by, shared with lppool-tune so each shape is tuned on the
// variant that will run it. Plain constants and arithmetic, no kernels.
#pragma once

#include <cstdint>

#include "power_cases.h"

namespace lppool::variants {

// CPU, rows layout: windows of at least this many elements go to the forward
// kernel that vectorizes along each window (schedules/cpu_schedule.h): from
// K = 64 on, a window holds enough lanes that summing along it beats lanes
// K apart.
inline constexpr int64_t kMinWideWindow = 64;

// CPU, rows layout: overlapping windows (S < K, below kMinWideWindow) run
// the rows forward's code compiled as a kernel of its own, so a tuned file
// can give it its own knobs: each element serves K / S windows there, so the
// best chunking differs from S = K. Same bits.
inline bool overlapping_windows(int64_t kernel_size, int64_t stride) {
    return stride < kernel_size && kernel_size < kMinWideWindow;
}

// CPU, rows layout: rows of fewer outputs than this (windows neither wide
// nor overlapping) run the rows forward's code as a kernel of its own, with
// its own knobs: a call of short rows (a stream's block) is over before the
// default's 256-output chunks pay off. Same bits.
inline constexpr int64_t kShortRowOutputs = 256;

inline bool short_rows(int64_t out_length) { return out_length < kShortRowOutputs; }

// CPU, rows layout: calls of fewer independent rows (N * C) than this (one
// long signal or a few: mono or stereo audio) run the rows forward's code as
// a kernel of their own, with its own knobs: they run as tasks along L and
// want other knobs than a batch does. Same bits.
inline constexpr int64_t kLongSignalRows = 8;

inline bool long_signals(int64_t rows) { return rows < kLongSignalRows; }

// CPU, rows layout: the other calls with a power other than the exact
// integer ones (algorithm/power_cases.h) run the rows forward's code as a
// kernel of their own: the exact powers are fastest with |x|^p computed
// where it is summed, pow() staged once per element, and each build
// compiles its stride specializations for its own powers only
// (cpu_schedule.h, SpecializedPowers). Same bits on the powers each is sent
// (this one would round 3 and 4 differently, but is never sent them).
using lppool::exact_integer_power;

// Which build of the rows forward serves a CPU call (rows layout), the rules
// above in their order of precedence: the runtime dispatches by it and
// lppool-tune maps shapes to kernels by it.
enum class CpuRowsForward {
    rows,
    wide_windows,
    overlapping,
    short_rows,
    long_signals,
    general_powers
};

inline CpuRowsForward cpu_rows_forward(int64_t kernel_size, int64_t stride, int64_t out_length,
                                       int64_t rows, double p) {
    if (kernel_size >= kMinWideWindow) return CpuRowsForward::wide_windows;
    if (overlapping_windows(kernel_size, stride)) return CpuRowsForward::overlapping;
    if (short_rows(out_length)) return CpuRowsForward::short_rows;
    if (long_signals(rows)) return CpuRowsForward::long_signals;
    if (!exact_integer_power(p)) return CpuRowsForward::general_powers;
    return CpuRowsForward::rows;
}

// Which build of the rows backward serves a CPU call (rows layout):
// overlapping windows (the forward's rule) run the rows backward's code as a
// kernel of its own, with its own knobs: each element gathers ceil(K / S)
// windows there against one for S = K. Same bits: each element's sum over
// its windows is in the same order.
enum class CpuRowsBackward { rows, overlapping };

inline CpuRowsBackward cpu_rows_backward(int64_t kernel_size, int64_t stride) {
    return overlapping_windows(kernel_size, stride) ? CpuRowsBackward::overlapping
                                                    : CpuRowsBackward::rows;
}

// Channels-last kernels (C contiguous, L not) pay off with at least a
// vector's worth of channels. With fewer (stereo audio), the rows kernel's
// strided loads along L win.
inline constexpr int64_t kMinChannelsForChannelsLast = 8;

// GPU, rows layout: the forward stages (tile - 1) * S + K elements of |x|^p
// per block in shared memory, at most kMaxStagedBytes; larger spans go to
// the kernel that reads |x| from global memory.
inline constexpr int64_t kMaxStagedBytes = 16 * 1024;

inline bool fits_gpu_staging(int64_t tile_outputs, int64_t kernel_size, int64_t stride,
                             int element_bytes) {
    const int64_t span = (tile_outputs - 1) * stride + kernel_size;
    return span <= kMaxStagedBytes / element_bytes;
}

}  // namespace lppool::variants
