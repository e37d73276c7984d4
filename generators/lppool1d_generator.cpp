// AOT generators for LPPool1d, built from the one algorithm in
// lppool1d_algorithm.h:
//
//   lppool1d_forward_{f32,f64}            y = LpPool(x)
//   lppool1d_backward_{f32,f64}           dx from the closed-form gather
//   lppool1d_backward_autodiff_{f32,f64}  dx by propagate_adjoints of the
//                                         forward (test-only cross-check)
//
// Buffers are (L, C, N) innermost first with mins of 0. The output length is
// the output buffer's extent: the caller (runtime/) decides floor or ceil mode
// and checks it is at most the number of windows starting inside the input.
#include "Halide.h"
#include "lppool1d_algorithm.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"

namespace {

using namespace Halide;
using lppool::Layout;

const std::map<std::string, Layout> kLayoutNames = {
    {"rows", Layout::Rows},
    {"channels_last", Layout::ChannelsLast},
    {"contiguous", Layout::Contiguous},
};

const std::map<std::string, lppool::WindowVectorization> kWindowVectorizationNames = {
    {"across_outputs", lppool::WindowVectorization::AcrossOutputs},
    {"along_window", lppool::WindowVectorization::AlongWindow},
};

// Every buffer starts at 0 in each dimension; strides are the layout's business.
template <typename... Buffers>
void require_zero_mins(Buffers &...buffers) {
    for (int i = 0; i < 3; i++) {
        (buffers.dim(i).set_min(0), ...);
    }
}

// Rows kernels take any strides; channels-last kernels require C contiguous;
// contiguous kernels require L contiguous (Halide's default).
template <typename... Buffers>
void apply_layout(Layout layout, Buffers &...buffers) {
    require_zero_mins(buffers...);
    if (layout != Layout::Contiguous) {
        (buffers.dim(0).set_stride(Expr()), ...);
    }
    if (layout == Layout::ChannelsLast) {
        (buffers.dim(1).set_stride(1), ...);
    }
}

template <typename... Buffers>
Expr dense_along_length(const Buffers &...buffers) {
    return ((buffers.dim(0).stride() == 1) && ...);
}

// Knobs shared by the forward and backward generators, tunable per build.
template <typename Self>
class LpPoolGeneratorBase : public Generator<Self> {
public:
    GeneratorParam<Layout> layout{"layout", Layout::Rows, kLayoutNames};
    GeneratorParam<int> vector_multiple{"vector_multiple", 2, 1, 8};
    GeneratorParam<int> chunk_outputs{"chunk_outputs", 256, 1, 1 << 20};
    GeneratorParam<int> min_parallel_rows{"min_parallel_rows", 8, 1, 1 << 30};
    GeneratorParam<int> long_chunk_outputs{"long_chunk_outputs", 16384, 16, 1 << 30};
    GeneratorParam<lppool::WindowVectorization> window_vectorization{
        "window_vectorization", lppool::WindowVectorization::AcrossOutputs,
        kWindowVectorizationNames};
    // GPU targets only. Staging needs (gpu_tile_outputs - 1) * S + K elements
    // of shared memory per block; the runtime routes larger spans elsewhere.
    GeneratorParam<int> gpu_tile_outputs{"gpu_tile_outputs", 128, 1, 1024};
    GeneratorParam<int> gpu_tile_channels{"gpu_tile_channels", 32, 1, 1024};
    GeneratorParam<int> gpu_tile_positions{"gpu_tile_positions", 8, 1, 1024};
    GeneratorParam<bool> gpu_stage_powers{"gpu_stage_powers", true};

protected:
    lppool::CpuKnobs knobs() const {
        lppool::CpuKnobs k;
        k.vector_multiple = vector_multiple;
        k.chunk_outputs = chunk_outputs;
        k.min_parallel_rows = min_parallel_rows;
        k.long_chunk_outputs = long_chunk_outputs;
        k.window_vectorization = window_vectorization;
        return k;
    }

    lppool::GpuKnobs gpu_knobs() const {
        lppool::GpuKnobs k;
        k.tile_outputs = gpu_tile_outputs;
        k.tile_channels = gpu_tile_channels;
        k.tile_positions = gpu_tile_positions;
        k.stage_powers = gpu_stage_powers;
        return k;
    }

    bool for_gpu() const { return this->get_target().has_gpu_feature(); }

    // Rows the schedule can run in parallel without splitting L.
    template <typename B>
    Expr independent_rows(const B &out) const {
        return layout == Layout::ChannelsLast ? out.dim(2).extent()
                                              : out.dim(1).extent() * out.dim(2).extent();
    }
};

template <typename T>
class Forward : public LpPoolGeneratorBase<Forward<T>> {
public:
    using Base = LpPoolGeneratorBase<Forward<T>>;
    using Base::auto_schedule;
    using Base::get_target;
    using Base::layout;

    GeneratorInput<Buffer<T, 3>> input{"input"};
    GeneratorInput<double> p{"p"};
    GeneratorInput<int> kernel_size{"kernel_size"};
    GeneratorInput<int> stride{"stride"};
    GeneratorOutput<Buffer<T, 3>> output{"output"};

    void generate() {
        lppool::Dims d;
        lppool::PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
        stages = lppool::define_forward(input, shape, d);
        const bool gpu = this->for_gpu();
        output(d.x, d.c, d.n) = gpu ? stages.pooled_branch_free(d.x, d.c, d.n)
                                    : stages.pooled(d.x, d.c, d.n);

        apply_layout(layout, input, output);
        set_estimates();

        if (auto_schedule) {
            return;
        }
        if (gpu) {
            lppool::schedule_forward_gpu(stages, output, layout, p, d, this->gpu_knobs());
            return;
        }
        lppool::RunTimeFacts facts{dense_along_length(input, output),
                                   this->independent_rows(output), stride};
        lppool::schedule_forward_cpu(stages, output, layout, p, facts, d, this->knobs(),
                                     get_target());
    }

private:
    lppool::ForwardStages stages;

    // The benchmark's main case: N=32, C=64, L=16384, K=S=4, p=2.
    void set_estimates() {
        input.set_estimates({{0, 16384}, {0, 64}, {0, 32}});
        output.set_estimates({{0, 4096}, {0, 64}, {0, 32}});
        p.set_estimate(2.0);
        kernel_size.set_estimate(4);
        stride.set_estimate(4);
    }
};

template <typename T>
class Backward : public LpPoolGeneratorBase<Backward<T>> {
public:
    using Base = LpPoolGeneratorBase<Backward<T>>;
    using Base::auto_schedule;
    using Base::get_target;
    using Base::layout;

    GeneratorInput<Buffer<T, 3>> input{"input"};
    GeneratorInput<Buffer<T, 3>> output{"output"};
    GeneratorInput<Buffer<T, 3>> grad_output{"grad_output"};
    GeneratorInput<double> p{"p"};
    GeneratorInput<int> kernel_size{"kernel_size"};
    GeneratorInput<int> stride{"stride"};
    GeneratorOutput<Buffer<T, 3>> grad_input{"grad_input"};

    void generate() {
        lppool::Dims d;
        lppool::PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
        stages = lppool::define_backward(input, output, grad_output, shape,
                                         output.dim(0).extent(), d);
        grad_input(d.x, d.c, d.n) = stages.grad_input(d.x, d.c, d.n);

        apply_layout(layout, input, output, grad_output, grad_input);
        set_estimates();

        if (auto_schedule) {
            return;
        }
        if (this->for_gpu()) {
            lppool::schedule_backward_gpu(stages, grad_input, layout, p, d, this->gpu_knobs());
            return;
        }
        lppool::RunTimeFacts facts{
            dense_along_length(input, output, grad_output, grad_input),
            this->independent_rows(grad_input), stride};
        lppool::schedule_backward_cpu(stages, grad_input, layout, p, facts, d, this->knobs(),
                                      get_target());
    }

private:
    lppool::BackwardStages stages;

    void set_estimates() {
        input.set_estimates({{0, 16384}, {0, 64}, {0, 32}});
        output.set_estimates({{0, 4096}, {0, 64}, {0, 32}});
        grad_output.set_estimates({{0, 4096}, {0, 64}, {0, 32}});
        grad_input.set_estimates({{0, 16384}, {0, 64}, {0, 32}});
        p.set_estimate(2.0);
        kernel_size.set_estimate(4);
        stride.set_estimate(4);
    }
};

// The gradient of the plain forward formula, derived by Halide's automatic
// differentiation. It exists to check the closed-form derivation in tests,
// so it is scheduled simply and handles dense rows only.
template <typename T>
class BackwardAutodiff : public Generator<BackwardAutodiff<T>> {
public:
    GeneratorInput<Buffer<T, 3>> input{"input"};
    GeneratorInput<Buffer<T, 3>> grad_output{"grad_output"};
    GeneratorInput<double> p{"p"};
    GeneratorInput<int> kernel_size{"kernel_size"};
    GeneratorInput<int> stride{"stride"};
    GeneratorInput<int> out_length{"out_length"};
    GeneratorOutput<Buffer<T, 3>> grad_input{"grad_input"};

    void generate() {
        lppool::Dims d;
        Func x_in("x_in");
        x_in(d.x, d.c, d.n) = input(d.x, d.c, d.n);
        lppool::PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
        lppool::ForwardStages fwd = lppool::define_forward(x_in, shape, d);

        // Zero outside [0, out_length): the adjoint pass reads dy wherever the
        // forward's Funcs are defined, not only where the output is.
        Func dy = BoundaryConditions::constant_exterior(
            grad_output, cast(grad_output.type(), 0),
            {{0, out_length}, {0, grad_output.dim(1).extent()}, {0, grad_output.dim(2).extent()}});
        Region out_region = {{0, out_length},
                             {0, grad_output.dim(1).extent()},
                             {0, grad_output.dim(2).extent()}};
        Derivative adjoints = propagate_adjoints(fwd.unscaled, dy, out_region);
        grad_input(d.x, d.c, d.n) = adjoints(x_in)(d.x, d.c, d.n);

        require_zero_mins(input, grad_output, grad_input);
        input.set_estimates({{0, 64}, {0, 4}, {0, 2}});
        grad_output.set_estimates({{0, 16}, {0, 4}, {0, 2}});
        grad_input.set_estimates({{0, 64}, {0, 4}, {0, 2}});
        p.set_estimate(2.0);
        kernel_size.set_estimate(4);
        stride.set_estimate(4);
        out_length.set_estimate(16);

        lppool::schedule_autodiff_reference(grad_input);
    }
};

}  // namespace

HALIDE_REGISTER_GENERATOR(Forward<float>, lppool1d_forward_f32)
HALIDE_REGISTER_GENERATOR(Forward<double>, lppool1d_forward_f64)
HALIDE_REGISTER_GENERATOR(Backward<float>, lppool1d_backward_f32)
HALIDE_REGISTER_GENERATOR(Backward<double>, lppool1d_backward_f64)
HALIDE_REGISTER_GENERATOR(BackwardAutodiff<float>, lppool1d_backward_autodiff_f32)
HALIDE_REGISTER_GENERATOR(BackwardAutodiff<double>, lppool1d_backward_autodiff_f64)
