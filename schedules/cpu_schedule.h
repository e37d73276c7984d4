// CPU schedules for the LPPool1d algorithm (algorithm/lppool1d_algorithm.h).
//
// How the algorithm's Funcs are computed on x86-64 (and any CPU target):
// vectorized at the target's natural width, parallel over rows, or over
// chunks of L when there are too few rows to keep the cores busy. These
// functions hold no math; the knobs are GeneratorParams so they can be tuned.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "Halide.h"
#include "knob_space.h"
#include "layout.h"
#include "lppool1d_algorithm.h"

namespace lppool {

// How a window sum is vectorized (rows layout).
enum class WindowVectorization {
    AcrossOutputs,  // lanes are neighbouring outputs: best for small windows
    AlongWindow,    // lanes run along one window, then a horizontal sum: for
                    // large K and S, where lanes `S` apart would be gathers
};

// Which powers a rows-layout forward's window sums get stride
// specializations for (the rows forward serves the exact integer powers,
// its general-powers kernel the others: runtime/kernel_variants.h). Every
// stride x power version is a copy of the row loops, so versions for calls a
// kernel is never sent cost generation time only; such calls still run
// correctly, on the unspecialized schedule.
enum class SpecializedPowers {
    All,      // every common stride with every exact power, and with the others
    Exact,    // every common stride with every exact power
    General,  // every common stride, p a run-time value
};

// One field per CPU knob of tunable_knobs.def (which says what each does),
// then the kernel variant's fixed parameters.
struct CpuKnobs {
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) \
    LPPOOL_KNOB_IF_##schedule##_cpu(kind name = static_cast<kind>(def);)
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
    // Not tuned: which kernel variant this is (generators/CMakeLists.txt).
    WindowVectorization window_vectorization = WindowVectorization::AcrossOutputs;
    SpecializedPowers specialized_powers = SpecializedPowers::All;
};

// Run-time facts about a kernel's buffers and parameters that schedules
// branch on.
struct RunTimeFacts {
    Halide::Expr dense_along_length;  // every buffer has stride 1 along L (rows layout)
    Halide::Expr rows;                // independent rows: C*N (rows layout) or N (channels-last)
    Halide::Expr window_stride;       // S
    Halide::Expr window_size;         // K (optional: without it, no branch for tiled windows)
    Halide::Expr out_length;          // the output's extent along L (optional: without it, no
                                      // branches for rows whose ends are shifted inwards)
};

// Window strides worth a specialization: with S known, loads S apart become
// dense loads and shuffles (and divisions by S become cheap) instead of
// per-lane gathers.
inline const int kCommonWindowStrides[] = {1, 2, 4, 8};

// Windows that tile a dense row (K == S) of these sizes get a branch whose
// vectors are whole windows: s lanes along each window times vec / s
// windows, so per-window values are one dense load and a shuffle that
// repeats each s times (lanes along x alone made them gathers). Only sizes
// that divide the vector width, and only where K is known to the schedule.
inline std::vector<int> tiled_window_sizes(int vec, const RunTimeFacts &facts) {
    std::vector<int> sizes;
    for (int s : {2, 4, 8}) {
        if (vec % s == 0 && facts.window_size.defined()) {
            sizes.push_back(s);
        }
    }
    return sizes;
}

inline Halide::Expr windows_tile_row(const RunTimeFacts &facts, int s) {
    return facts.dense_along_length && facts.window_stride == s && facts.window_size == s;
}

// Splits the lanes of an x-vectorized stage into windows of s elements:
// s lanes innermost, then the windows, both vectorized.
inline void vectorize_as_windows(Halide::Stage stage, const Halide::Var &x, int vec, int s) {
    using namespace Halide;
    Var window_lanes("window_lanes"), in_window("in_window");
    stage.split(x, window_lanes, in_window, s, TailStrategy::GuardWithIf)
        .vectorize(in_window)
        .vectorize(window_lanes, vec / s, TailStrategy::GuardWithIf);
}

// Adds one specialization per exact integer power. Specializations copy the
// schedule they are made from, so call this after the stage is scheduled.
inline void specialize_exact_powers(Halide::Stage stage, const Halide::Expr &p) {
    for (int v : kExactIntegerPowers) {
        stage.specialize(power_is(p, v));
    }
}

// The exact powers' specializations, where `which` has them.
inline void specialize_powers(Halide::Stage stage, const Halide::Expr &p,
                              SpecializedPowers which) {
    if (which != SpecializedPowers::General) {
        specialize_exact_powers(stage, p);
    }
}

// The plain values' specializations (rows layout): the common strides, each
// with the powers `which` names, then those powers for the other strides.
// Each (stride, power) pair is one flat condition for Exact, so no stride
// gets a version for the powers that kernel is not sent.
inline void specialize_common_strides_and_powers(Halide::Stage stage, const Halide::Expr &stride,
                                                 const Halide::Expr &p, SpecializedPowers which) {
    for (int s : kCommonWindowStrides) {
        switch (which) {
        case SpecializedPowers::All:
            specialize_exact_powers(stage.specialize(stride == s), p);
            break;
        case SpecializedPowers::Exact:
            for (int v : kExactIntegerPowers) {
                stage.specialize(stride == s && power_is(p, v));
            }
            break;
        case SpecializedPowers::General:
            stage.specialize(stride == s);
            break;
        }
    }
    specialize_powers(stage, p, which);
}

// The backward's specializations: the exact powers, then, where the sum in
// the input's type serves p < 1 too (float64), p < 1 and p >= 1 apart, since
// only p < 1 takes pow_nonnegative (scaled_ratio_power_minus_one); the
// fallback after them is never taken.
inline void specialize_gradient_powers(Halide::Stage stage, const Halide::Expr &p,
                                       bool small_powers) {
    specialize_exact_powers(stage, p);
    if (small_powers) {
        stage.specialize(small_power(p));
        stage.specialize(not_small_power(p));
    }
}

// Lanes of the type `f` computes in: a 16-bit output (half_storage.h) is
// computed in float32.
inline int cpu_vector_width(const Halide::Func &f, const Halide::Target &target,
                            const CpuKnobs &knobs) {
    const Halide::Type t = f.output_types()[0];
    return target.natural_vector_size(t.bits() < 32 ? Halide::Float(32) : t) *
           knobs.vector_multiple;
}

// Split of a row-level stage along x: tasks of about `long_chunk_outputs` (the
// parallel unit when rows are few), chunks of `chunk_outputs` (the unit over
// which |x|^p is computed once and reused), and vectors.
struct RowLoops {
    Halide::Var task{"task"}, all_chunks{"all_chunks"}, chunk{"chunk"}, in_chunk{"in_chunk"},
        all_vectors{"all_vectors"}, vector_group{"vector_group"}, xv{"xv"}, co{"co"},
        lane{"lane"};
};

// What the forward and backward schedules of both layouts start from.
struct CpuScheduleStart {
    int vec;                // lanes of the output's vectors
    bool rows_layout;       // rows (NCL or any strides), not channels-last
    Halide::Expr many_rows;  // enough rows to run parallel over them
    RowLoops v;
    Halide::Var row{"row"};  // C and N fused (rows layout)
};

inline CpuScheduleStart cpu_schedule_start(const Halide::Func &output, Layout layout,
                                           const RunTimeFacts &facts, const CpuKnobs &knobs,
                                           const Halide::Target &target) {
    return {cpu_vector_width(output, target, knobs), layout != Layout::ChannelsLast,
            facts.rows >= knobs.min_parallel_rows, RowLoops{}, Halide::Var("row")};
}

// Splits x into chunks of `chunk_outputs` and, when `tasks` is set, the
// chunks into parallel tasks of about `long_chunk_outputs`. Chunks are split
// first so a short row runs only the chunks it has: the other order leaves a
// task's chunk loop at full length with every chunk guarded inside.
inline void split_into_chunks(Halide::Stage s, bool tasks, const Dims &d, const RowLoops &v,
                              const CpuKnobs &knobs) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    if (tasks) {
        const int chunks_per_task = std::max(1, knobs.long_chunk_outputs / knobs.chunk_outputs);
        s.split(d.x, v.all_chunks, v.in_chunk, knobs.chunk_outputs, guard)
            .split(v.all_chunks, v.task, v.chunk, chunks_per_task, guard);
    } else {
        s.split(d.x, v.chunk, v.in_chunk, knobs.chunk_outputs, guard);
    }
}

// What a row-level stage's chunks are grouped into (rows layout).
enum class Tasks {
    None,      // chunks only
    Serial,    // tasks of about `long_chunk_outputs`, run in order: a loop
               // that chunk buffers can be stored at, allocated once per task
    Parallel,  // the same tasks, run in parallel (few rows)
};

// Splits the vectors of a stage (rows layout) into chunks and, unless
// `tasks` is None, the chunks into tasks. `row_end` is the chunks' tail
// strategy where there are no tasks.
inline void split_vectors_into_chunks(
    Halide::Stage s, Tasks tasks, const RowLoops &v, const CpuKnobs &knobs, int vec,
    Halide::TailStrategy row_end = Halide::TailStrategy::GuardWithIf) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    const int vectors_per_chunk = std::max(1, knobs.chunk_outputs / vec);
    if (tasks == Tasks::None) {
        s.split(v.all_vectors, v.chunk, v.xv, vectors_per_chunk, row_end);
        return;
    }
    const int chunks_per_task = std::max(1, knobs.long_chunk_outputs / (vectors_per_chunk * vec));
    s.split(v.all_vectors, v.all_chunks, v.xv, vectors_per_chunk, guard)
        .split(v.all_chunks, v.task, v.chunk, chunks_per_task, guard);
    if (tasks == Tasks::Parallel) {
        s.parallel(v.task);
    }
}

// Splits and vectorizes stage `s` along x, grouped into `tasks`. Reductions
// over the window get the k loop just outside the vector lanes, so each
// window's sum stays in registers.
//
// x is split into vectors first and the vectors into chunks: a row's last,
// partial chunk then skips its missing vectors with one branch each, and
// only the row's last vector is predicated (Halide scalarizes predicated
// strided loads, so every predicated vector is slow). With `row_end`
// ShiftInwards (no tasks, rows of at least a chunk), the last vector and
// chunk are whole instead, shifted to end at the row's end.
inline void split_along_length(Halide::Stage s, Tasks tasks, const Dims &d, const RowLoops &v,
                               const CpuKnobs &knobs, int vec, const Halide::RDom *window,
                               Halide::TailStrategy row_end = Halide::TailStrategy::GuardWithIf) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    const int vectors_per_chunk = std::max(1, knobs.chunk_outputs / vec);
    s.split(d.x, v.all_vectors, v.lane, vec, row_end);
    split_vectors_into_chunks(s, tasks, v, knobs, vec, row_end);
    // Unrolled vectors give the core independent window sums (and their
    // loads) to overlap; the split keeps the innermost loop named xv, where
    // producers are computed, so they are unrolled with it.
    const int unroll = std::min(knobs.unroll_vectors, vectors_per_chunk);
    if (unroll > 1) {
        s.split(v.xv, v.vector_group, v.xv, unroll, guard).unroll(v.xv);
    }
    if (window) {
        s.reorder(v.lane, window->x, v.xv, v.chunk);
    }
    s.vectorize(v.lane);
}

// A chunk's buffers are allocated once per chunk. On Halide's pseudostack
// they are allocated once per task instead (on the stack while small, else
// one heap block grown as needed), which saves an allocation per chunk.
inline void store_chunk_scratch(Halide::Func f, const CpuKnobs &knobs) {
    if (knobs.scratch_on_stack) {
        f.store_in(Halide::MemoryType::Stack);
    }
}

// Same for channels-last: vectors run across C (contiguous); x is split
// into tasks and chunks as above.
inline void split_across_channels(Halide::Stage s, bool tasks, const Dims &d, const RowLoops &v,
                                  const CpuKnobs &knobs, int vec, const Halide::RDom *window) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    const Var &co = v.co;
    split_into_chunks(s, tasks, d, v, knobs);
    s.split(d.c, co, v.lane, vec, guard);
    if (window) {
        s.reorder(v.lane, window->x, co, v.in_chunk, v.chunk);
    } else {
        s.reorder(v.lane, co, v.in_chunk, v.chunk);
    }
    s.vectorize(v.lane);
    if (tasks) {
        s.parallel(v.task);
    }
}

// Gives a row-level stage two schedules: tasks along L (run in parallel)
// when rows are few, plain chunks otherwise (grouped into `many_rows_tasks`
// in the rows layout). Both have the `chunk` and vector loops that
// producers are computed at. Returns {few-rows branch, default branch}.
inline std::pair<Halide::Stage, Halide::Stage> split_row_stage(
    Halide::Stage s, Layout layout, const Halide::Expr &many_rows, const Dims &d,
    const RowLoops &v, const CpuKnobs &knobs, int vec, const Halide::RDom *window = nullptr,
    Tasks many_rows_tasks = Tasks::None) {
    Halide::Stage few = s.specialize(!many_rows);
    for (bool few_rows : {true, false}) {
        Halide::Stage target_stage = few_rows ? few : s;
        if (layout != Layout::ChannelsLast) {
            split_along_length(target_stage, few_rows ? Tasks::Parallel : many_rows_tasks, d, v,
                               knobs, vec, window);
        } else {
            split_across_channels(target_stage, few_rows, d, v, knobs, vec, window);
        }
    }
    return {few, s};
}

// Branches of a row-level stage (rows layout, many rows) for rows of at
// least a chunk, and for shorter rows of at least a vector (in chunks of
// one vector), whose last vector and chunk are shifted inwards (a few
// windows computed twice) instead of partial. Halide's loop partitioner
// splits the chunk loop into chunks whose window reads are all inside the
// input, run with dense loads, and the rest, run with clamped gathers in
// every vector: with a partial last chunk, that rest was all of a short row.
// Returns the branches, which take the default branch's specializations.
inline std::vector<Halide::Stage> shifted_row_end_branches(Halide::Stage s,
                                                           const Halide::Expr &many_rows,
                                                           const RunTimeFacts &facts,
                                                           const Dims &d, const RowLoops &v,
                                                           const CpuKnobs &knobs, int vec) {
    std::vector<Halide::Stage> branches;
    if (!facts.out_length.defined()) {
        return branches;
    }
    // Each branch: the fewest outputs it serves, and its knobs.
    const int chunk = std::max(1, knobs.chunk_outputs / vec) * vec;  // as split_along_length
    CpuKnobs one_vector_chunks = knobs;
    one_vector_chunks.chunk_outputs = vec;
    std::vector<std::pair<int, CpuKnobs>> row_ends = {{chunk, knobs}};
    if (chunk > vec) {
        row_ends.emplace_back(vec, one_vector_chunks);
    }
    for (const auto &[outputs, k] : row_ends) {
        Halide::Stage branch = s.specialize(many_rows && facts.out_length >= outputs);
        split_along_length(branch, Tasks::None, d, v, k, vec, nullptr,
                           Halide::TailStrategy::ShiftInwards);
        branches.push_back(branch);
    }
    return branches;
}

// How the stages after the plain values (block flags, rescue scan, output)
// split a row: blocks of the rescue per parallel task along L
// (few rows), and vectors no wider than a block, so each stays inside one.
struct RescueBlocking {
    int blocks_per_task;
    int block_vec;
};

inline RescueBlocking rescue_blocking(const CpuKnobs &knobs, int vec) {
    return {std::max(1, knobs.long_chunk_outputs / kRescueBlockWindows),
            std::min(vec, kRescueBlockWindows)};
}

// Rows-layout output: a copy of each row's pooled values, vectorized along
// L, parallel over rows when there are enough. Returns the row loop, where
// the row's stages are computed.
inline Halide::LoopLevel schedule_output_rows(Halide::Func output, const Halide::Var &row,
                                              const Halide::Expr &many_rows,
                                              const RunTimeFacts &facts, const Dims &d,
                                              const CpuKnobs &knobs, int vec) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    const auto [blocks_per_task, block_vec] = rescue_blocking(knobs, vec);
    Var block("copy_block"), in_block("copy_in_block");
    output.fuse(d.c, d.n, row);
    Stage rows = output.specialize(many_rows);
    rows.split(d.x, block, in_block, kRescueBlockWindows, guard)
        .vectorize(in_block, block_vec, guard)
        .parallel(row);
    rows.specialize(facts.dense_along_length);
    // Few rows: the copy runs in tasks along L too (a row's pooled values
    // are complete before it starts, at the row loop).
    Var task("copy_task");
    output.split(d.x, block, in_block, kRescueBlockWindows, guard)
        .split(block, task, block, blocks_per_task, guard)
        .parallel(task)
        .vectorize(in_block, block_vec, guard);
    output.specialize(facts.dense_along_length);
    return LoopLevel(output, row);
}

// The rescue over a row (rows layout) or batch item (channels-last), after
// its plain values: the block flags (one vector reduction per block), then
// the scan, which enters only flagged blocks and recomputes them as vectors
// (the output reads those blocks, and the plain values elsewhere). Each
// block touches only its own values, so splitting the blocks across tasks
// races on nothing.
inline void schedule_rescue_scan(ForwardStages &st, const Halide::LoopLevel &row_level,
                                 Layout layout, const Halide::Expr &p,
                                 const Halide::Expr &many_rows, const Dims &d,
                                 const CpuKnobs &knobs, int vec) {
    using namespace Halide;
    const TailStrategy guard = TailStrategy::GuardWithIf;
    const auto [blocks_per_task, block_vec] = rescue_blocking(knobs, vec);
    const bool channels_last = layout == Layout::ChannelsLast;
    Var in_block = st.pooled_blocks.args()[0], block = st.pooled_blocks.args()[1];
    Var task("rescue_task"), task_block("rescue_task_block");

    // Flags: vectors along the windows (rows), or across the channels,
    // stored innermost (channels-last), as the rescued blocks are.
    st.rescue_flags.compute_at(row_level);
    st.pooled_blocks.compute_at(row_level);
    if (channels_last) {
        st.rescue_flags.reorder_storage(d.c, d.x).vectorize(d.c, vec, guard);
        // One vector of channels takes all of a block's windows before the
        // next, so its flags stay in a register through the window loop
        // instead of a read-modify-write of every flag per window.
        Var flag_vectors("flag_vectors"), flag_lanes("flag_lanes");
        st.rescue_flags.update(0)
            .split(d.c, flag_vectors, flag_lanes, vec, guard)
            .reorder(flag_lanes, st.block_window.x, flag_vectors, d.x)
            .vectorize(flag_lanes);
        st.pooled_blocks.reorder_storage(d.c, in_block, block);
    } else {
        st.rescue_flags.update(0).atomic().vectorize(st.block_window.x);
    }
    for (Stage s : {Stage(st.rescue_flags), st.rescue_flags.update(0)}) {
        s.specialize(!many_rows).split(d.x, task, task_block, blocks_per_task, guard).parallel(task);
    }

    // The inner block loop keeps the RDom's name in both branches, so the
    // rescue terms below have one loop to be computed at.
    RVar rescue_task("rescue_task");
    Stage rescue = st.pooled_blocks.update(0);
    rescue.reorder(in_block, st.rescued_blocks.x).vectorize(in_block, block_vec);
    // Set before specializing: a specialization copies the stage's schedule.
    rescue.allow_race_conditions();
    Stage few = rescue.specialize(!many_rows);
    few.split(st.rescued_blocks.x, rescue_task, st.rescued_blocks.x, blocks_per_task, guard)
        .parallel(rescue_task);
    // ratio_power selects between its p < 1 and p >= 1 forms, and a select
    // evaluates both, so each form gets a branch of its own. (The exact
    // powers are not specialized here: rescued blocks are rare, and each
    // version is a copy of the scan.)
    for (Stage s : {few, rescue}) {
        s.specialize(small_power(p));
        s.specialize(not_small_power(p));
    }

    // A flagged block's rescue terms, a vector of windows at a time. Their
    // buffers are allocated per block, flagged or not (Halide 14 tests the
    // RDom's predicate inside the allocation), so a fixed extent of one
    // block keeps them on the stack instead of two heap calls per block
    // (per block and channel in channels-last).
    for (Func f : {st.rescue_max_bits, st.rescue_sum}) {
        f.compute_at(st.pooled_blocks, st.rescued_blocks.x)
            .bound_extent(d.x, kRescueBlockWindows)
            .vectorize(d.x, block_vec, guard);
        f.update(0).reorder(d.x, st.window.x).vectorize(d.x, block_vec, guard);
    }
    st.rescue_bounds.compute_root();
}

// Forward, rows layout, large windows: each window's sum is vectorized along
// the window (an rfactor of the k loop into vector lanes, then one horizontal
// sum), so loads are dense (or stride C for interleaved channels) whatever S
// is, where lanes across outputs would be S apart. |x|^p is computed where
// it is summed: windows of this size overlap little, so there is little to
// reuse.
inline void schedule_forward_cpu_along_window(ForwardStages &st, Halide::Func output,
                                              const Halide::Expr &p, const RunTimeFacts &facts,
                                              const Dims &d, const CpuKnobs &knobs,
                                              const Halide::Target &target) {
    using namespace Halide;
    const int vec = cpu_vector_width(output, target, knobs);
    const TailStrategy guard = TailStrategy::GuardWithIf;
    Var row("row"), chunk("chunk"), in_chunk("in_chunk"), lane("lane");
    RVar k_vectors("k_vectors"), k_lane("k_lane");
    Expr many_rows = facts.rows >= knobs.min_parallel_rows;

    const LoopLevel row_level = schedule_output_rows(output, row, many_rows, facts, d, knobs, vec);
    st.plain.compute_at(row_level);
    Stage few = st.plain.specialize(!many_rows);
    few.split(d.x, chunk, in_chunk, knobs.chunk_outputs, guard).parallel(chunk);
    st.plain.split(d.x, chunk, in_chunk, knobs.chunk_outputs, guard);
    specialize_exact_powers(few, p);
    specialize_exact_powers(st.plain, p);

    Func lanes = st.power_sum.update(0)
                     .split(st.window.x, k_vectors, k_lane, vec, guard)
                     .rfactor(k_lane, lane);
    st.power_sum.compute_at(st.plain, in_chunk);
    // rfactor drops the sum's strict_float in this merge of the lanes, which
    // left LLVM free to reassociate it differently in each loop version, so
    // a window's bits depended on where it fell in the buffer (1 ulp, and
    // LPPool1dStream promises the offline bits). One vector reduction
    // instead: a fixed shuffle tree, the same wherever the window falls.
    st.power_sum.update(0).atomic().vectorize(k_lane);
    lanes.compute_at(st.plain, in_chunk).vectorize(lane);
    lanes.update(0).vectorize(lane);
    specialize_exact_powers(lanes.update(0).specialize(facts.dense_along_length), p);
    specialize_exact_powers(lanes.update(0), p);

    schedule_rescue_scan(st, row_level, Layout::Rows, p, many_rows, d, knobs, vec);
}

// Forward for either layout. The pooled values and the rescue pass are
// computed per row (rows layout) or per batch item (channels-last) into a
// small buffer that the output then copies; window power sums stay in
// registers, one vector of outputs at a time; |x|^p is computed once per
// chunk of outputs, so overlapping windows (S < K) reuse it. Rows are shared
// across threads, or, when there are few, tasks along L.
inline void schedule_forward_cpu(ForwardStages &st, Halide::Func output, Layout layout,
                                 const Halide::Expr &p, const RunTimeFacts &facts, const Dims &d,
                                 const CpuKnobs &knobs, const Halide::Target &target) {
    using namespace Halide;
    if (layout != Layout::ChannelsLast &&
        knobs.window_vectorization == WindowVectorization::AlongWindow) {
        schedule_forward_cpu_along_window(st, output, p, facts, d, knobs, target);
        return;
    }
    const auto [vec, rows_layout, many_rows, v, row] =
        cpu_schedule_start(output, layout, facts, knobs, target);
    const TailStrategy guard = TailStrategy::GuardWithIf;
    LoopLevel row_level;
    if (rows_layout) {
        row_level = schedule_output_rows(output, row, many_rows, facts, d, knobs, vec);
    } else {
        output.reorder(d.c, d.x, d.n).vectorize(d.c, vec, guard);
        output.specialize(many_rows).parallel(d.n);
        row_level = LoopLevel(output, d.n);
    }

    // Window power sums, per vector of outputs, in registers.
    st.power_sum.compute_at(st.plain, rows_layout ? v.xv : v.co);
    if (rows_layout) {
        st.power_sum.vectorize(d.x, vec, guard);
        st.power_sum.update(0).reorder(d.x, st.window.x).vectorize(d.x, vec, guard);
        // Windows that tile the row: the k loop has a constant extent, and
        // unrolled, its strided loads share one set of dense loads.
        for (int s : tiled_window_sizes(vec, facts)) {
            st.power_sum.update(0).specialize(windows_tile_row(facts, s)).unroll(st.window.x);
        }
    } else {
        st.power_sum.vectorize(d.c, vec, guard);
        st.power_sum.update(0).reorder(d.c, st.window.x, d.x).vectorize(d.c, vec, guard);
    }
    // |x|^p staged per chunk is computed once for the K / S windows that
    // read each element; unstaged, a window's terms are computed where it
    // sums them, a vector at a time, which skips the chunk buffer's pass
    // (its store and reload, and the elements between windows when S > K)
    // and overlaps the input's loads with the sums' work.
    if (knobs.stage_powers) {
        st.powered.compute_at(st.plain, v.chunk);
        store_chunk_scratch(st.powered, knobs);
        if (rows_layout) {
            st.powered.vectorize(d.x, vec, TailStrategy::RoundUp);
            st.powered.specialize(facts.dense_along_length);
        } else {
            // Stored channels innermost like the input, so vectors across C
            // are dense loads and stores (x innermost made each a
            // stride-extent scatter).
            st.powered.reorder_storage(d.c, d.x).reorder(d.c, d.x).vectorize(d.c, vec, guard);
        }
        specialize_exact_powers(st.powered, p);
    } else {
        // Channels-last vectors run across C: a fixed vector of terms there
        // would read past the last channel.
        _halide_user_assert(rows_layout)
            << "stage_powers=false is for the rows layout only: a channels-last forward "
               "stages |x|^p (its vectors run across C)";
        // One vector of terms per window element: a fixed extent keeps the
        // buffer in registers (bounds inference alone gave it a run-time
        // size, a heap allocation per term vector).
        st.window_terms.compute_at(st.power_sum, st.window.x)
            .bound_extent(d.x, vec)
            .vectorize(d.x);
        specialize_exact_powers(st.window_terms, p);
    }
    if (!rows_layout) {
        st.plain.reorder_storage(d.c, d.x);
    }

    // Plain values, then the rescue scan.
    st.plain.compute_at(row_level);
    const std::vector<Stage> plain_shifted =
        rows_layout ? shifted_row_end_branches(st.plain, many_rows, facts, d, v, knobs, vec)
                    : std::vector<Stage>{};
    auto [plain_few, plain_many] = split_row_stage(st.plain, layout, many_rows, d, v, knobs, vec);
    // The strides are specialized on the stage whose loops are split into a
    // steady state and a tail, not on the window sum inside it: there the
    // steady state would end at the minimum over all strides' bounds, and the
    // rest of a row would run the clamped tail's gathers. Only the branch for
    // many rows has them: the runtime cuts long rows of few-row calls into
    // pieces that run there (runtime/kernel_variants.h), so the few-rows
    // branch serves short calls, and a copy of every version there would
    // double the generation time.
    if (rows_layout) {
        for (Stage many : plain_shifted) {
            specialize_common_strides_and_powers(many, facts.window_stride, p,
                                                 knobs.specialized_powers);
        }
        specialize_common_strides_and_powers(plain_many, facts.window_stride, p,
                                             knobs.specialized_powers);
        specialize_powers(plain_few, p, knobs.specialized_powers);
    } else {
        specialize_exact_powers(plain_few, p);
        specialize_exact_powers(plain_many, p);
    }

    schedule_rescue_scan(st, row_level, layout, p, many_rows, d, knobs, vec);
}

// Backward for either layout: dx is produced directly, each element
// gathering the ceil(K/S) windows that contain it, vectorized along L (rows)
// or across C (channels-last), parallel over rows or, when they are few,
// over tasks along L.
inline void schedule_backward_cpu(BackwardStages &st, Halide::Func grad_input, Layout layout,
                                  const Halide::Expr &p, const RunTimeFacts &facts, const Dims &d,
                                  const CpuKnobs &knobs, const Halide::Target &target) {
    using namespace Halide;
    const auto [vec, rows_layout, many_rows, v, row] =
        cpu_schedule_start(grad_input, layout, facts, knobs, target);
    const TailStrategy guard = TailStrategy::GuardWithIf;

    std::vector<Stage> output_branches;
    if (rows_layout) {
        grad_input.fuse(d.c, d.n, row);
        // Windows that tile the row, many rows: vectors of whole windows,
        // with the loops the gathered sums are computed at.
        for (int s : tiled_window_sizes(vec, facts)) {
            Stage tiled = grad_input.specialize(many_rows && windows_tile_row(facts, s));
            tiled.split(d.x, v.all_vectors, v.lane, vec, guard);
            split_vectors_into_chunks(tiled, Tasks::Serial, v, knobs, vec);
            tiled.parallel(row);
            vectorize_as_windows(tiled, v.lane, vec, s);
            output_branches.push_back(tiled);
        }
    }
    // Every rows branch has tasks, where the windows' y and dy are stored.
    auto [few, many] = split_row_stage(grad_input, layout, many_rows, d, v, knobs, vec, nullptr,
                                       Tasks::Serial);
    many.parallel(rows_layout ? row : d.n);
    output_branches.push_back(few);
    output_branches.push_back(many);
    if (rows_layout) {
        output_branches.push_back(few.specialize(facts.dense_along_length));
        output_branches.push_back(many.specialize(facts.dense_along_length));
    }
    // float32 sums p < 1 in float64 (gathered_wide): every branch of the
    // output apart on it, so each computes only the sum it reads.
    const bool wide_small_powers = st.gathered_wide.defined();
    if (wide_small_powers) {
        for (Stage branch : output_branches) {
            branch.specialize(small_power(p));
        }
    }

    // Rows: each chunk's windows' y and dy into a buffer, read by dense
    // vector loads (inlined, each element's clamped window read is a
    // gather). Computed per chunk, so a single long row's parallel tasks
    // need not wait for one copy of them all; stored per task (per row when
    // rows are many): allocated per chunk, they were a large share of a
    // small-K call's time.
    // Channels-last reads one window per vector of channels, a dense load
    // already.
    if (rows_layout) {
        for (Func f : {st.window_norm, st.window_grad}) {
            f.store_at(grad_input, v.task)
                .compute_at(grad_input, v.chunk)
                .vectorize(f.args()[0], vec, guard);
            store_chunk_scratch(f, knobs);
        }
    }
    for (Func sum : {st.gathered, st.gathered_wide}) {
        if (!sum.defined()) {
            continue;
        }
        const bool narrow = sum.name() == st.gathered.name();
        sum.compute_at(grad_input, rows_layout ? v.xv : v.co);
        Stage gather = sum.update(0);
        auto specialize_powers_here = [&](Stage stage) {
            if (narrow) {
                specialize_gradient_powers(stage, p, !wide_small_powers);
            }
        };
        if (rows_layout) {
            sum.vectorize(d.x, vec, guard);
            gather.reorder(d.x, st.windows.x);
            for (int s : tiled_window_sizes(vec, facts)) {
                Stage tiled = gather.specialize(windows_tile_row(facts, s));
                vectorize_as_windows(tiled, d.x, vec, s);
                specialize_powers_here(tiled);
            }
            gather.vectorize(d.x, vec, guard);
            Stage dense = gather.specialize(facts.dense_along_length);
            for (int s : kCommonWindowStrides) {
                specialize_powers_here(dense.specialize(facts.window_stride == s));
            }
            specialize_powers_here(dense);
        } else {
            sum.vectorize(d.c, vec, guard);
            gather.reorder(d.c, st.windows.x, d.x).vectorize(d.c, vec, guard);
        }
        specialize_powers_here(gather);
    }
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
