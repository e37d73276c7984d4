// GPU schedules (CUDA, and OpenCL as its CI twin) for the LPPool1d algorithm
// in algorithm/lppool1d_algorithm.h.
//
// One thread per output element: a window's power sum (and, for the forward,
// its rescue) is accumulated in the thread's registers. Threads of a block
// are neighbours along the contiguous dimension of the layout, so loads
// coalesce: along L for rows (NCL), across C for channels-last (NLC). With
// `stage_powers`, a block first stages |x|^p for its span of the input in
// shared memory with coalesced loads, so overlapping windows (S < K) read
// each |x|^p from there instead of recomputing it. These functions hold no
// math; the knobs are GeneratorParams.
#pragma once

#include "Halide.h"
#include "knob_space.h"
#include "layout.h"
#include "lppool1d_algorithm.h"

namespace lppool {

// Defaults and ranges: tunable_knobs.def.
struct GpuKnobs {
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) \
    LPPOOL_KNOB_IF_##schedule##_gpu(kind name = static_cast<kind>(def);)
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
};

// Output tiling shared by the forward and backward schedules: per-output
// reductions are computed at a thread loop (registers), staged inputs at a
// block loop (shared memory).
struct GpuLoops {
    Halide::Var block_x{"block_x"}, thread_x{"thread_x"}, block_c{"block_c"},
        thread_c{"thread_c"};
};

// Returns the thread loop each output's reductions are computed at.
inline Halide::Var tile_output_gpu(Halide::Func out, Layout layout, const Dims &d, const GpuLoops &v,
                                   const GpuKnobs &knobs) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    if (layout != Layout::ChannelsLast) {
        out.split(d.x, v.block_x, v.thread_x, knobs.gpu_tile_outputs, guard)
            .reorder(v.thread_x, v.block_x, d.c, d.n)
            .gpu_blocks(v.block_x, d.c, d.n)
            .gpu_threads(v.thread_x);
        return v.thread_x;
    }
    out.split(d.c, v.block_c, v.thread_c, knobs.gpu_tile_channels, guard)
        .split(d.x, v.block_x, v.thread_x, knobs.gpu_tile_positions, guard)
        .reorder(v.thread_c, v.thread_x, v.block_c, v.block_x, d.n)
        .gpu_blocks(v.block_c, v.block_x, d.n)
        .gpu_threads(v.thread_c, v.thread_x);
    return v.thread_c;
}

// The exact powers GPUs specialize on, then p < 1 and p >= 1 apart: the
// forward's rescue term and the backward's gradient term each have a p < 1
// and a p >= 1 form, which fold apart only under these. Specializations copy
// the schedule they are made from: call after it is set.
inline void specialize_powers_gpu(Halide::Func f, const Halide::Expr &p) {
    for (int v : kGpuSpecializedPowers) {
        f.specialize(power_is(p, v));
    }
    f.specialize(small_power(p));
    f.specialize(not_small_power(p));
}

// Forward: `output` reads st.pooled_branch_free (the per-thread form of the
// rescue; the CPU's scan form would make one thread walk a whole row).
inline void schedule_forward_gpu(ForwardStages &st, Halide::Func output, Layout layout,
                                 const Halide::Expr &p, const Dims &d, const GpuKnobs &knobs) {
    using namespace Halide;
    GpuLoops v;
    const Var thread = tile_output_gpu(output, layout, d, v, knobs);
    for (Func f : {st.power_sum, st.rescue_max_bits, st.rescue_sum}) {
        f.compute_at(output, thread);
    }
    if (knobs.gpu_stage_powers && layout != Layout::ChannelsLast) {
        // The block's span of |x|^p, loaded by all its threads in turn.
        Var span_step("span_step"), span_lane("span_lane");
        st.powered.compute_at(output, v.block_x)
            .split(d.x, span_step, span_lane, knobs.gpu_tile_outputs, TailStrategy::GuardWithIf)
            .gpu_threads(span_lane);
    }
    // Every thread evaluates its window's rescue term too (select form).
    specialize_powers_gpu(output, p);
}

// Backward: each thread gathers the windows containing its element.
inline void schedule_backward_gpu(BackwardStages &st, Halide::Func grad_input, Layout layout,
                                  const Halide::Expr &p, const Dims &d, const GpuKnobs &knobs) {
    using namespace Halide;
    GpuLoops v;
    const Var thread = tile_output_gpu(grad_input, layout, d, v, knobs);
    for (Func sum : {st.gathered, st.gathered_wide}) {
        if (sum.defined()) {
            sum.compute_at(grad_input, thread);
        }
    }
    // Only p < 1 forms the ratio in float64 (and, in float32, its sum:
    // gathered_wide), so each branch computes one form.
    specialize_powers_gpu(grad_input, p);
}

}  // namespace lppool
