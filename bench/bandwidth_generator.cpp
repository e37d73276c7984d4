// Memory-bandwidth probes for the benchmark's roofline, in Halide so they
// are vectorized and parallel exactly like the kernels they judge.
//
//   lppool_bench_read_sum: a read-only reduction (one partial sum per lane
//                          and row): the machine's read bandwidth.
//   lppool_bench_copy:     output = input: read + write (with write-allocate).
#include "Halide.h"

namespace {

using namespace Halide;

// Lanes summed side by side: several vectors per iteration hide add latency.
constexpr int kLanes = 64;

class ReadSum : public Generator<ReadSum> {
public:
    Input<Buffer<float, 2>> input{"input"};
    Output<Buffer<float, 2>> partial{"partial"};

    void generate() {
        Var lane("lane"), row("row");
        RDom r(0, input.dim(0).extent() / kLanes, "r");
        partial(lane, row) = 0.0f;
        partial(lane, row) += input(r * kLanes + lane, row);

        partial.parallel(row).vectorize(lane, kLanes);
        partial.update().reorder(lane, r, row).parallel(row).vectorize(lane, kLanes);
        input.set_estimates({{0, 16384}, {0, 2048}});
        partial.set_estimates({{0, kLanes}, {0, 2048}});
    }
};

class Copy : public Generator<Copy> {
public:
    Input<Buffer<float, 2>> input{"input"};
    Output<Buffer<float, 2>> output{"output"};

    void generate() {
        Var x("x"), row("row");
        output(x, row) = input(x, row);
        output.parallel(row).vectorize(x, kLanes, TailStrategy::GuardWithIf);
        input.set_estimates({{0, 16384}, {0, 2048}});
        output.set_estimates({{0, 16384}, {0, 2048}});
    }
};

}  // namespace

HALIDE_REGISTER_GENERATOR(ReadSum, lppool_bench_read_sum)
HALIDE_REGISTER_GENERATOR(Copy, lppool_bench_copy)
