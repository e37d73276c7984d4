// CPU schedules for the LPPool1d algorithm (generators/lppool1d_algorithm.h).
//
// How the algorithm's Funcs are computed on x86-64 (and any CPU target):
// vectorized at the target's natural width, parallel over rows, or over
// chunks of L when there are too few rows to keep the cores busy. These
// functions hold no math; the knobs are GeneratorParams so they can be tuned.
#pragma once

#include "Halide.h"
#include "lppool1d_algorithm.h"

namespace lppool {

// Which memory layout a kernel is specialized for.
enum class Layout {
    Rows,          // any strides; fast path when L is contiguous (NCL)
    ChannelsLast,  // C contiguous (NLC, interleaved audio): vectorized across channels
};

struct CpuKnobs {
    int vector_multiple = 2;         // natural vectors per inner iteration
    int chunk_outputs = 256;         // outputs whose |x|^p is computed together
    int min_parallel_rows = 8;       // fewer rows than this: parallel along L instead
    int long_chunk_outputs = 16384;  // outputs per parallel task along L
};

// Run-time facts about a kernel's buffers that schedules branch on.
struct BufferFacts {
    Halide::Expr dense_along_length;  // every buffer has stride 1 along L (rows layout)
    Halide::Expr rows;                // independent rows: C*N (rows layout) or N (channels-last)
};

// Adds one specialization per exact integer power. Specializations copy the
// schedule they are made from, so call this after the stage is scheduled.
inline void specialize_exact_powers(Halide::Stage stage, const Halide::Expr &p) {
    for (int v : kExactIntegerPowers) {
        stage.specialize(p == Halide::Expr(static_cast<double>(v)));
    }
}

inline int cpu_vector_width(const Halide::Func &f, const Halide::Target &target,
                            const CpuKnobs &knobs) {
    return target.natural_vector_size(f.output_types()[0]) * knobs.vector_multiple;
}

// Rows layout forward: each task produces one row (or one stretch of a long
// row) of outputs. |x|^p is computed once per chunk of outputs into a small
// buffer that the window sums read, so overlapping windows (S < K) reuse it.
// The rare rescue pass runs per row over the finished row buffer.
inline void schedule_forward_cpu_rows(ForwardStages &st, Halide::Func output,
                                      const Halide::Expr &p, const BufferFacts &facts,
                                      const Dims &d, const CpuKnobs &knobs,
                                      const Halide::Target &target) {
    using namespace Halide;
    const int vec = cpu_vector_width(output, target, knobs);
    const TailStrategy guard = TailStrategy::GuardWithIf;
    Var row("row"), task("task"), in_task("in_task"), chunk("chunk"), in_chunk("in_chunk"),
        xv("xv"), lane("lane");
    RVar jt("jt"), ji("ji");
    Expr many_rows = facts.rows >= knobs.min_parallel_rows;

    output.fuse(d.c, d.n, row).vectorize(d.x, vec, guard);
    output.specialize(many_rows && facts.dense_along_length).parallel(row);
    output.specialize(many_rows).parallel(row);
    output.specialize(facts.dense_along_length);

    // The pooled row: tasks along L only when there are few rows.
    st.pooled.compute_at(output, row);
    Stage pooled_long = st.pooled.specialize(!many_rows);
    pooled_long.split(d.x, task, in_task, knobs.long_chunk_outputs, guard)
        .parallel(task)
        .split(in_task, chunk, in_chunk, knobs.chunk_outputs, guard)
        .split(in_chunk, xv, lane, vec, guard)
        .vectorize(lane);
    specialize_exact_powers(pooled_long, p);
    st.pooled.split(d.x, chunk, in_chunk, knobs.chunk_outputs, guard)
        .split(in_chunk, xv, lane, vec, guard)
        .vectorize(lane);
    specialize_exact_powers(st.pooled, p);

    // Rescue pass: a scalar scan of the row; the scaled recomputation runs only
    // inside the branch for windows that need it. Each j touches only pooled(j),
    // so splitting it across tasks races on nothing.
    Stage rescue = st.pooled.update(0);
    rescue.split(st.rescued.x, jt, ji, knobs.long_chunk_outputs, guard);
    rescue.specialize(!many_rows).parallel(jt).allow_race_conditions();
    st.rescue_max.compute_at(st.pooled, ji);
    st.rescue_sum.compute_at(st.pooled, ji);
    st.rescue_below.compute_root();
    st.rescue_above.compute_root();

    st.power_sum.compute_at(st.pooled, xv).vectorize(d.x, vec, guard);
    st.power_sum.update(0).reorder(d.x, st.window.x).vectorize(d.x, vec, guard);

    st.powered.compute_at(st.pooled, chunk).vectorize(d.x, vec, TailStrategy::RoundUp);
    st.powered.specialize(facts.dense_along_length);
    specialize_exact_powers(st.powered, p);
}

// Channels-last forward: vectors run across C (contiguous), so every load is
// dense whatever K and S are. Tasks are batch items, or stretches of L.
inline void schedule_forward_cpu_channels_last(ForwardStages &st, Halide::Func output,
                                               const Halide::Expr &p, const BufferFacts &facts,
                                               const Dims &d, const CpuKnobs &knobs,
                                               const Halide::Target &target) {
    using namespace Halide;
    const int vec = cpu_vector_width(output, target, knobs);
    const TailStrategy guard = TailStrategy::GuardWithIf;
    Var task("task"), in_task("in_task"), chunk("chunk"), in_chunk("in_chunk"), co("co"),
        lane("lane");
    RVar jt("jt"), ji("ji");
    Expr many_rows = facts.rows >= knobs.min_parallel_rows;

    output.reorder(d.c, d.x, d.n).vectorize(d.c, vec, guard);
    output.specialize(many_rows).parallel(d.n);

    st.pooled.compute_at(output, d.n);
    Stage pooled_long = st.pooled.specialize(!many_rows);
    pooled_long.reorder(d.c, d.x)
        .split(d.x, task, in_task, knobs.long_chunk_outputs, guard)
        .parallel(task)
        .split(in_task, chunk, in_chunk, knobs.chunk_outputs, guard)
        .split(d.c, co, lane, vec, guard)
        .reorder(lane, in_chunk, co, chunk, task)
        .vectorize(lane);
    specialize_exact_powers(pooled_long, p);
    st.pooled.reorder(d.c, d.x)
        .split(d.x, chunk, in_chunk, knobs.chunk_outputs, guard)
        .split(d.c, co, lane, vec, guard)
        .reorder(lane, in_chunk, co, chunk)
        .vectorize(lane);
    specialize_exact_powers(st.pooled, p);

    Stage rescue = st.pooled.update(0);
    rescue.split(st.rescued.x, jt, ji, knobs.long_chunk_outputs, guard);
    rescue.specialize(!many_rows).parallel(jt).allow_race_conditions();
    st.rescue_max.compute_at(st.pooled, ji);
    st.rescue_sum.compute_at(st.pooled, ji);
    st.rescue_below.compute_root();
    st.rescue_above.compute_root();

    st.power_sum.compute_at(st.pooled, in_chunk).vectorize(d.c, vec, guard);
    st.power_sum.update(0).reorder(d.c, st.window.x, d.x).vectorize(d.c, vec, guard);

    st.powered.compute_at(st.pooled, co).reorder(d.c, d.x).vectorize(d.c, vec, guard);
    specialize_exact_powers(st.powered, p);
}

// Rows layout backward: dx is produced directly, each element gathering the
// ceil(K/S) windows that contain it; vectorized along L, parallel over rows
// or stretches of L.
inline void schedule_backward_cpu_rows(BackwardStages &st, Halide::Func grad_input,
                                       const Halide::Expr &p, const BufferFacts &facts,
                                       const Dims &d, const CpuKnobs &knobs,
                                       const Halide::Target &target) {
    using namespace Halide;
    const int vec = cpu_vector_width(grad_input, target, knobs);
    const TailStrategy guard = TailStrategy::GuardWithIf;
    Var row("row"), task("task"), in_task("in_task"), xv("xv"), lane("lane");
    Expr many_rows = facts.rows >= knobs.min_parallel_rows;
    const int elements_per_task = knobs.long_chunk_outputs * 4;

    grad_input.fuse(d.c, d.n, row)
        .split(d.x, task, in_task, elements_per_task, guard)
        .split(in_task, xv, lane, vec, guard)
        .vectorize(lane);
    Stage rows_parallel = grad_input.specialize(many_rows);
    rows_parallel.parallel(row);
    rows_parallel.specialize(facts.dense_along_length);
    grad_input.parallel(task);
    grad_input.specialize(facts.dense_along_length);

    st.grad_input.compute_at(grad_input, xv).vectorize(d.x, vec, guard);
    Stage gather = st.grad_input.update(0);
    gather.reorder(d.x, st.windows.x).vectorize(d.x, vec, guard);
    specialize_exact_powers(gather.specialize(facts.dense_along_length), p);
    specialize_exact_powers(gather, p);
}

// Channels-last backward: vectors across C, tasks over batch items or L.
inline void schedule_backward_cpu_channels_last(BackwardStages &st, Halide::Func grad_input,
                                                const Halide::Expr &p, const BufferFacts &facts,
                                                const Dims &d, const CpuKnobs &knobs,
                                                const Halide::Target &target) {
    using namespace Halide;
    const int vec = cpu_vector_width(grad_input, target, knobs);
    const TailStrategy guard = TailStrategy::GuardWithIf;
    Var task("task"), in_task("in_task"), co("co"), lane("lane");
    Expr many_rows = facts.rows >= knobs.min_parallel_rows;
    const int elements_per_task = knobs.long_chunk_outputs;

    grad_input.reorder(d.c, d.x, d.n)
        .split(d.x, task, in_task, elements_per_task, guard)
        .split(d.c, co, lane, vec, guard)
        .reorder(lane, co, in_task, task, d.n)
        .vectorize(lane);
    grad_input.specialize(many_rows).parallel(d.n);
    grad_input.parallel(task);

    st.grad_input.compute_at(grad_input, co).vectorize(d.c, vec, guard);
    Stage gather = st.grad_input.update(0);
    gather.reorder(d.c, st.windows.x).vectorize(d.c, vec, guard);
    specialize_exact_powers(gather, p);
}

// The autodiff cross-check kernel: correctness only. Left unscheduled, every
// adjoint Func would be inlined into its consumers and recomputed per use;
// computing each once at the root keeps the test fast.
inline void schedule_autodiff_reference(Halide::Func grad_input) {
    using namespace Halide;
    for (const auto &entry : Internal::find_transitive_calls(grad_input.function())) {
        if (entry.first != grad_input.name()) {
            Func(entry.second).compute_root();
        }
    }
}

}  // namespace lppool
