// Which kernel of schedules/kernels.def serves a call: the rules the runtime
// dispatches by, shared with lppool-tune so each shape is tuned on the kernel
// that will run it. Each rule returns a variant name of kernels.def (the
// kernel is lppool1d_<pass>_<dtype>_<variant>[_<gpu api>]). Plain constants
// and arithmetic, no kernels.
#pragma once

#include <algorithm>
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

// CPU, rows layout: dense rows whose windows tile them exactly (K <= S and
// out * S == L: no window is partial, none straddles two rows) are run as
// one row of N * C * L, when they are shorter than kMaxFoldedRowOutputs:
// each row's stages (values, rescue flags, copy) cost a fixed time that
// short rows, such as a network's (32, 64, 256), pay many times over; the
// one long row is then cut into pieces (below). Same bits: a window's sum
// does not depend on where it falls.
inline constexpr int64_t kMaxFoldedRowOutputs = 1024;

inline bool fold_rows(int64_t kernel_size, int64_t stride, int64_t length, int64_t out_length,
                      int64_t rows) {
    return rows > 1 && out_length < kMaxFoldedRowOutputs && kernel_size <= stride &&
           out_length * stride == length && length * rows <= INT32_MAX;
}

// CPU, rows layout: a call of fewer than kFewRows rows (the kernels' default
// min_parallel_rows) is run as pieces of windows, one kernel row each (the
// input pieces overlap where windows do), plus, where needed, a call for the
// rest: the kernels then share the pieces across threads in their branch
// for many rows, which has the stride specializations (the few-rows branch
// has none: a row of 4096 windows ran there at 0.9 ns per element, 6x the
// pieces' figure). Pieces hold kPieceOutputs windows, or, for shorter calls,
// half as many as often as it takes to make kFewRows pieces, down to
// kMinPieceOutputs where windows overlap (the forward's per-row stages cost
// a fixed time, and overlapping pieces read their shared input twice: pieces
// of 128 windows no longer repaid), kMinDisjointPieceOutputs where they do
// not (short pieces there still beat the few-rows branch), and
// kMinBackwardPieceOutputs for the backward, which has no per-row stages (a
// row of 2048 windows ran 4x faster as 15 pieces of 128 than in the few-rows
// branch). Where that many pieces hold every window exactly (the last window
// ends inside the input, and, for the backward, the windows tile it), there
// is no rest, whose call would run in the few-rows branch. Otherwise the
// pieces are widened, in steps of kPieceAlignment windows, to leave a short
// rest: 4 rows of 4096 windows as 3 pieces of 1344 and a rest of 64 a row,
// not 1024, ran 0.6x the time. The backward only where no element is in two
// windows (K <= S), so the pieces' gradients do not overlap. Same bits.
inline constexpr int64_t kFewRows = 8;
inline constexpr int64_t kPieceOutputs = 2048;
inline constexpr int64_t kMinPieceOutputs = 256;
inline constexpr int64_t kMinDisjointPieceOutputs = 64;
inline constexpr int64_t kMinBackwardPieceOutputs = 32;
inline constexpr int64_t kPieceAlignment = 64;

struct Pieces {
    int64_t count = 0;    // full pieces per row; 0: the call is not cut
    int64_t outputs = 0;  // windows per piece
    bool rest = false;    // whether a call of the rest follows the pieces'
};

// Whether pieces can hold every window and, for the backward, every element:
// the last window is not partial, and the backward's windows tile the input.
inline bool pieces_can_hold_all(bool backward, int64_t kernel_size, int64_t stride,
                                int64_t out_length, int64_t length) {
    return backward ? out_length * stride == length
                    : (out_length - 1) * stride + kernel_size <= length;
}

inline Pieces full_pieces(bool backward, int64_t kernel_size, int64_t stride, int64_t out_length,
                          int64_t length, int64_t rows) {
    if (rows >= kFewRows || (backward && kernel_size > stride)) {
        return {};
    }
    const bool may_hold_all = pieces_can_hold_all(backward, kernel_size, stride, out_length, length);
    const int64_t smallest = backward                  ? kMinBackwardPieceOutputs
                             : kernel_size <= stride ? kMinDisjointPieceOutputs
                                                     : kMinPieceOutputs;
    for (int64_t outputs = kPieceOutputs; outputs >= smallest; outputs /= 2) {
        if (may_hold_all && out_length % outputs == 0 && out_length / outputs * rows >= kFewRows) {
            return {out_length / outputs, outputs, false};
        }
        // Here the rest is never empty: it holds the last window.
        const int64_t count = (out_length - 1) / outputs;
        if (count * rows >= kFewRows) {
            const int64_t spread = (out_length - 1) / count / kPieceAlignment * kPieceAlignment;
            return {count, std::max(outputs, spread), true};
        }
    }
    return {};
}

// CPU: a call whose input is smaller than this runs its parallel loops on
// the calling thread: below it, waking Halide's thread pool cost more than
// the second core gave (K = S = 4, p = 2, 2 threads: 64Ki float32 elements
// forward 31 us serial vs 38 us parallel, 128Ki 26 us vs 16 us).
inline constexpr int64_t kSerialBelowInputBytes = 512 * 1024;

inline bool run_serially(int64_t input_bytes) { return input_bytes < kSerialBelowInputBytes; }

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
// are for a run-time p (the rows builds' are for the exact powers); the
// exact powers of overlapping windows to the build that computes each
// |x|^p once for the windows that share it.
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
    if (!exact_integer_power(call.p)) {
        return "rows_general_powers";
    }
    return call.kernel_size > call.stride ? "rows_overlapping" : "rows";
}

}  // namespace lppool::variants
