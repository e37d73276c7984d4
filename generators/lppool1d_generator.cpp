// AOT generators for LPPool1d, built from the one algorithm in
// lppool1d_algorithm.h, for every dtype of schedules/dtypes.def:
//
//   lppool1d_forward_<dtype>              y = LpPool(x)
//   lppool1d_backward_<dtype>             dx from the closed-form gather
//   lppool1d_backward_autodiff_{f32,f64}  dx by propagate_adjoints of the
//                                         forward (test-only cross-check)
//
// Buffers are (L, C, N) innermost first with mins of 0. The output length is
// the output buffer's extent: the caller (runtime/) decides floor or ceil mode
// and checks it is at most the number of windows starting inside the input.
#include "Halide.h"
#include "dtypes.def"
#include "kernel_params.h"
#include "lppool1d_pipeline.h"

namespace {

using namespace Halide;
using lppool::Layout;

// A knob's GeneratorParam: int knobs with their range, bool knobs plain.
#define LPPOOL_GENERATOR_PARAM_int(name, def, lo, hi) GeneratorParam<int> name{#name, def, lo, hi};
#define LPPOOL_GENERATOR_PARAM_bool(name, def, lo, hi) GeneratorParam<bool> name{#name, def != 0};

// Knobs shared by the forward and backward generators, tunable per build.
template <typename Self>
class LpPoolGeneratorBase : public Generator<Self> {
public:
    GeneratorParam<Layout> layout{"layout", Layout::Rows, lppool::kLayoutNames};
    GeneratorParam<lppool::WindowVectorization> window_vectorization{
        "window_vectorization", lppool::WindowVectorization::AcrossOutputs,
        lppool::kWindowVectorizationNames};
    // Which powers the rows forward's stride specializations are for: those
    // of the calls the runtime sends this kernel (runtime/kernel_variants.h).
    GeneratorParam<lppool::SpecializedPowers> specialized_powers{
        "specialized_powers", lppool::SpecializedPowers::All, lppool::kSpecializedPowersNames};
    // The tunable knobs, one GeneratorParam each (schedules/tunable_knobs.def).
    // GPU targets only for gpu_*: staging needs (gpu_tile_outputs - 1) * S + K
    // elements of shared memory per block; the runtime routes larger spans
    // elsewhere.
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) \
    LPPOOL_GENERATOR_PARAM_##kind(name, def, lo, hi)
#include "tunable_knobs.def"
#undef LPPOOL_KNOB

protected:
    lppool::KernelConfig config() const {
        lppool::KernelConfig c;
        c.layout = layout;
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) c.schedule.name = name;
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
        c.cpu.window_vectorization = window_vectorization;
        c.cpu.specialized_powers = specialized_powers;
        c.autoscheduled = this->auto_schedule;
        return c;
    }
};

// The dtypes of schedules/dtypes.def, in its order.
struct Dtype {
    halide_type_code_t code;
    int bits;
};
#define LPPOOL_DTYPE_DESCRIPTION(key, code, bits, name, ...) {halide_type_##code, bits},
constexpr Dtype kDtypes[] = {LPPOOL_EACH_DTYPE(LPPOOL_DTYPE_DESCRIPTION, )};
#undef LPPOOL_DTYPE_DESCRIPTION
#define LPPOOL_DTYPE_INDEX(key, code, bits, name, ...) dtype_##key,
enum DtypeIndex { LPPOOL_EACH_DTYPE(LPPOOL_DTYPE_INDEX, ) };
#undef LPPOOL_DTYPE_INDEX

// The buffers' element type: 16-bit types are held as their bit patterns.
Type buffer_type(int dtype) {
    const Dtype &t = kDtypes[dtype];
    return t.bits == 16 ? UInt(16) : Float(t.bits);
}

lppool::ElementStorage element_storage(int dtype) {
    const Dtype &t = kDtypes[dtype];
    if (t.bits != 16) {
        return {};
    }
    return {t.code == halide_type_bfloat ? lppool::HalfFormat::bfloat16
                                         : lppool::HalfFormat::float16};
}

// The window's scalar inputs, in the order every kernel signature has them.
#define LPPOOL_WINDOW_INPUTS                        \
    GeneratorInput<double> p{"p"};                  \
    GeneratorInput<int> kernel_size{"kernel_size"}; \
    GeneratorInput<int> stride{"stride"};

template <int D>
class Forward : public LpPoolGeneratorBase<Forward<D>> {
public:
    GeneratorInput<Buffer<>> input{"input", buffer_type(D), 3};
    LPPOOL_WINDOW_INPUTS
    GeneratorOutput<Buffer<>> output{"output", {buffer_type(D)}, 3};

    void generate() {
        lppool::build_forward(input, p, kernel_size, stride, output, this->config(),
                              lppool::ShapeEstimates{}, this->get_target(), element_storage(D));
    }
};

template <int D>
class Backward : public LpPoolGeneratorBase<Backward<D>> {
public:
    GeneratorInput<Buffer<>> input{"input", buffer_type(D), 3};
    GeneratorInput<Buffer<>> output{"output", buffer_type(D), 3};
    GeneratorInput<Buffer<>> grad_output{"grad_output", buffer_type(D), 3};
    LPPOOL_WINDOW_INPUTS
    GeneratorOutput<Buffer<>> grad_input{"grad_input", {buffer_type(D)}, 3};

    void generate() {
        lppool::build_backward(input, output, grad_output, p, kernel_size, stride, grad_input,
                               this->config(), lppool::ShapeEstimates{}, this->get_target(),
                               element_storage(D));
    }
};

// The gradient of the plain forward formula, derived by Halide's automatic
// differentiation. It exists to check the closed-form derivation in tests,
// so it is scheduled simply and handles dense rows only. Both dtypes
// differentiate the float64 forward with Halide's pow: the kernels' powers
// are formed from the bits of their operands (pow_nonnegative), which
// autodiff cannot see through (it gave a zero gradient).
template <typename T>
class BackwardAutodiff : public Generator<BackwardAutodiff<T>> {
public:
    GeneratorInput<Buffer<T, 3>> input{"input"};
    GeneratorInput<Buffer<T, 3>> grad_output{"grad_output"};
    LPPOOL_WINDOW_INPUTS
    GeneratorInput<int> out_length{"out_length"};
    GeneratorOutput<Buffer<T, 3>> grad_input{"grad_input"};

    void generate() {
        lppool::Dims d;
        Func x_in("x_in");
        x_in(d.x, d.c, d.n) = cast<double>(input(d.x, d.c, d.n));
        lppool::PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
        lppool::ForwardStages fwd =
            lppool::define_forward(x_in, shape, d, lppool::PowerEvaluation::Differentiable);

        // Zero outside [0, out_length): the adjoint pass reads dy wherever the
        // forward's Funcs are defined, not only where the output is.
        Func grad_output_wide("grad_output_wide");
        grad_output_wide(d.x, d.c, d.n) = cast<double>(grad_output(d.x, d.c, d.n));
        Func dy = BoundaryConditions::constant_exterior(
            grad_output_wide, cast<double>(0),
            {{0, out_length}, {0, grad_output.dim(1).extent()}, {0, grad_output.dim(2).extent()}});
        Region out_region = {{0, out_length},
                             {0, grad_output.dim(1).extent()},
                             {0, grad_output.dim(2).extent()}};
        Derivative adjoints = propagate_adjoints(fwd.unscaled, dy, out_region);
        grad_input(d.x, d.c, d.n) = cast<T>(adjoints(x_in)(d.x, d.c, d.n));

        lppool::require_zero_mins(input, grad_output, grad_input);
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

#define LPPOOL_REGISTER_GENERATORS(key, code, bits, name, ...)                   \
    HALIDE_REGISTER_GENERATOR(Forward<dtype_##key>, lppool1d_forward_##key) \
    HALIDE_REGISTER_GENERATOR(Backward<dtype_##key>, lppool1d_backward_##key)
LPPOOL_EACH_DTYPE(LPPOOL_REGISTER_GENERATORS, )
#undef LPPOOL_REGISTER_GENERATORS
HALIDE_REGISTER_GENERATOR(BackwardAutodiff<float>, lppool1d_backward_autodiff_f32)
HALIDE_REGISTER_GENERATOR(BackwardAutodiff<double>, lppool1d_backward_autodiff_f64)
