// Which kernel variant serves a call: the rules runtime/lppool1d.cpp
// dispatches by, shared with lppool-tune so each shape is tuned on the
// variant that will run it. Plain constants and arithmetic, no kernels.
#pragma once

#include <cstdint>

#include "power_cases.h"

namespace lppool::variants {

// CPU, rows layout: windows of at least this many elements go to the forward
// kernel that vectorizes along each window (schedules/cpu_schedule.h). With
// K = S on an AVX-512 machine (32 float lanes), along-window vs across-
// outputs: K=32 6.8 vs 5.8 ms, K=64 4.3 vs 5.4 ms, K=256 7.2 vs 29.0 ms
// (2048 rows of 16384); one long row: K=64 1.9 vs 2.7 ms.
inline constexpr int64_t kMinWideWindow = 64;

// CPU, rows layout: overlapping windows (S < K, below kMinWideWindow) run a
// kernel of their own. It is the rows forward's code, compiled separately so
// a tuned file can give it its own knobs: each element serves K / S windows
// there, so the best chunking differs from S = K (case e of bench/, K = 16,
// S = 1: chunk_outputs 4096 ran in 0.78x the default's 256; the S = K cases
// want the default). Results are the same bits either way.
inline bool overlapping_windows(int64_t kernel_size, int64_t stride) {
    return stride < kernel_size && kernel_size < kMinWideWindow;
}

// CPU, rows layout: rows of fewer outputs than this (and windows neither
// wide nor overlapping) run a kernel of their own, the rows forward's code
// compiled separately so a tuned file can give it its own knobs: a call of
// short rows (a stream's block, a few channels of a short clip) is over
// before the default's 256-output chunks pay off (case j of bench/, 8 rows
// of 64 outputs: 1 us with 64-output chunks, 2 us with 256). Same bits.
inline constexpr int64_t kShortRowOutputs = 256;

inline bool short_rows(int64_t out_length) { return out_length < kShortRowOutputs; }

// CPU, rows layout: calls of fewer independent rows (N * C) than this, one
// long signal or a few (mono or stereo audio), run a kernel of their own
// (windows neither wide nor overlapping, rows not short), the rows forward's
// code compiled separately so a tuned file can give it its own knobs: the
// default schedule runs them as tasks along L (min_parallel_rows = 8), and
// they want other knobs than a batch does (case f of bench/, one row, K = 8:
// 0.68x the time with stage_powers off, which costs case d 1.09x).
inline constexpr int64_t kLongSignalRows = 8;

inline bool long_signals(int64_t rows) { return rows < kLongSignalRows; }

// CPU, rows layout: the other calls with a power other than the exact
// integer ones (algorithm/power_cases.h, kExactIntegerPowers) run a
// kernel of their own, the rows forward's code compiled separately so a
// tuned file can give it its own knobs: the exact powers sum their windows
// fastest with |x|^p computed where it is summed, while pow() is cheapest
// staged once per element in a chunk (AOT, AVX2, stage_powers off: cases a,
// b, c of bench/ in 0.76x, 0.74x, 0.85x the default's time, case d, p = 2.5,
// in 1.11x). Each build compiles its stride specializations only for its own
// powers (cpu_schedule.h, SpecializedPowers). Same bits on the powers each
// is sent (this one runs 3 and 4 through pow(), which differs from the exact
// arms' roots in the last bit, but is never sent them).
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
// overlapping windows (the forward's rule) run the rows backward's code
// compiled separately, so a tuned file can give it its own knobs: each
// element gathers ceil(K / S) windows there, one division each, against one
// for S = K (bench/ in JIT: vector_multiple 4 with the chunk buffers on the
// stack ran (h_a) and (h_d), K = S = 4, in 0.87x and 0.64x the default's
// time, but (h_e), K = 16, S = 1, in 1.04x; (h_e) wants unroll_vectors 4
// instead, 0.97x). Same bits: same algorithm, and each element's sum over
// its windows is in the same order.
enum class CpuRowsBackward { rows, overlapping };

inline CpuRowsBackward cpu_rows_backward(int64_t kernel_size, int64_t stride) {
    return overlapping_windows(kernel_size, stride) ? CpuRowsBackward::overlapping
                                                    : CpuRowsBackward::rows;
}

// Channels-last kernels (C contiguous, L not) pay off with at least a
// vector's worth of channels. With fewer (stereo audio), the rows kernel's
// strided loads along L win: interleaved stereo (case g of bench/) ran
// 160 ms channels-last.
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
