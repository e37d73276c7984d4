// How a kernel is assembled from the algorithm (lppool1d_algorithm.h) and a
// schedule (schedules/): the buffers' layout constraints, the autoscheduler
// estimates, and which schedule runs on which target. Shared by the AOT
// generators (lppool1d_generator.cpp) and lppool-tune's JIT candidates
// (tools/tune/), so a tuned candidate is exactly the code the next AOT build
// compiles. Inputs are templates: GeneratorInputs in a generator, ImageParams
// and Params under the JIT.
#pragma once

#include <cstdint>
#include <optional>

#include "Halide.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "half_storage.h"
#include "lppool1d_algorithm.h"

namespace lppool {

// Everything a kernel's schedule depends on besides the target.
struct KernelConfig {
    Layout layout = Layout::Rows;
    CpuKnobs cpu;
    GpuKnobs gpu;
    bool autoscheduled = false;  // leave the schedule to a Halide autoscheduler
};

// How a kernel's buffers hold their elements: in the type the algorithm
// computes in (float32, float64), or as 16-bit patterns (UInt(16) buffers)
// that are widened to float32 on load and rounded once on store.
struct ElementStorage {
    std::optional<HalfFormat> half;
};

// `buffer` as the algorithm reads it: itself, or its 16-bit patterns widened.
template <typename B>
Halide::Func widened(const B &buffer, const ElementStorage &storage, const char *name) {
    if (!storage.half) {
        return buffer;
    }
    Halide::Func f(std::string(name) + "_float32");
    Dims d;
    f(d.x, d.c, d.n) = widen_half(*storage.half, buffer(d.x, d.c, d.n));
    return f;
}

// A computed value as the output buffer stores it.
inline Halide::Expr stored(const Halide::Expr &v, const ElementStorage &storage) {
    return storage.half ? narrow_to_half(*storage.half, v) : v;
}

// The shape an autoscheduler plans for (Halide estimates). The generators
// use the benchmark's main case; lppool-tune uses the shape it tunes.
struct ShapeEstimates {
    int64_t N = 32, C = 64, L = 16384, out_length = 4096;
    double p = 2.0;
    int kernel_size = 4, stride = 4;
};

// Every buffer starts at 0 in each dimension; strides are the layout's business.
template <typename... Buffers>
void require_zero_mins(Buffers &&...buffers) {
    for (int i = 0; i < 3; i++) {
        (buffers.dim(i).set_min(0), ...);
    }
}

// Rows kernels take any strides; channels-last kernels require C contiguous;
// contiguous kernels require L contiguous (Halide's default).
template <typename... Buffers>
void apply_layout(Layout layout, Buffers &&...buffers) {
    require_zero_mins(buffers...);
    if (layout != Layout::Contiguous) {
        (buffers.dim(0).set_stride(Halide::Expr()), ...);
    }
    if (layout == Layout::ChannelsLast) {
        (buffers.dim(1).set_stride(1), ...);
    }
}

template <typename... Buffers>
Halide::Expr dense_along_length(const Buffers &...buffers) {
    return ((buffers.dim(0).stride() == 1) && ...);
}

// Rows the schedule can run in parallel without splitting L.
template <typename B>
Halide::Expr independent_rows(Layout layout, const B &out) {
    return layout == Layout::ChannelsLast ? out.dim(2).extent()
                                          : out.dim(1).extent() * out.dim(2).extent();
}

template <typename B>
void set_buffer_estimates(B &&buffer, int64_t length, const ShapeEstimates &e) {
    buffer.set_estimates({{0, int(length)}, {0, int(e.C)}, {0, int(e.N)}});
}

template <typename PowerParam, typename IntParam>
void set_parameter_estimates(PowerParam &p, IntParam &kernel_size, IntParam &stride,
                             const ShapeEstimates &e) {
    p.set_estimate(e.p);
    kernel_size.set_estimate(e.kernel_size);
    stride.set_estimate(e.stride);
}

// Defines `output` (x, c, n) = LpPool(input) and schedules it for `target`:
// the GPU schedule when the target has a GPU feature, else the CPU one, or
// none when an autoscheduler will.
template <typename InputBuffer, typename PowerParam, typename IntParam>
ForwardStages build_forward(InputBuffer &input, PowerParam &p, IntParam &kernel_size,
                            IntParam &stride, Halide::Func output, const KernelConfig &config,
                            const ShapeEstimates &estimates, const Halide::Target &target,
                            const ElementStorage &storage = {}) {
    Dims d;
    PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
    ForwardStages stages = define_forward(widened(input, storage, "input"), shape, d);
    const bool gpu = target.has_gpu_feature();
    output(d.x, d.c, d.n) = stored(gpu ? stages.pooled_branch_free(d.x, d.c, d.n)
                                       : stages.pooled(d.x, d.c, d.n),
                                   storage);

    auto out = output.output_buffer();
    apply_layout(config.layout, input, out);
    set_buffer_estimates(input, estimates.L, estimates);
    set_buffer_estimates(out, estimates.out_length, estimates);
    set_parameter_estimates(p, kernel_size, stride, estimates);
    if (config.autoscheduled) {
        return stages;
    }
    if (gpu) {
        schedule_forward_gpu(stages, output, config.layout, p, d, config.gpu);
        return stages;
    }
    RunTimeFacts facts{dense_along_length(input, out), independent_rows(config.layout, out),
                       stride, kernel_size, out.dim(0).extent()};
    schedule_forward_cpu(stages, output, config.layout, p, facts, d, config.cpu, target);
    return stages;
}

// Defines `grad_input` (x, c, n) = dx from x, y = LpPool(x) and dy, and
// schedules it as build_forward does.
template <typename InputBuffer, typename PowerParam, typename IntParam>
BackwardStages build_backward(InputBuffer &input, InputBuffer &output, InputBuffer &grad_output,
                              PowerParam &p, IntParam &kernel_size, IntParam &stride,
                              Halide::Func grad_input, const KernelConfig &config,
                              const ShapeEstimates &estimates, const Halide::Target &target,
                              const ElementStorage &storage = {}) {
    Dims d;
    PoolShape shape{p, kernel_size, stride, input.dim(0).extent()};
    BackwardStages stages = define_backward(
        widened(input, storage, "input"), widened(output, storage, "output"),
        widened(grad_output, storage, "grad_output"), shape, output.dim(0).extent(), d);
    grad_input(d.x, d.c, d.n) = stored(stages.grad_input(d.x, d.c, d.n), storage);

    auto dx = grad_input.output_buffer();
    apply_layout(config.layout, input, output, grad_output, dx);
    set_buffer_estimates(input, estimates.L, estimates);
    set_buffer_estimates(output, estimates.out_length, estimates);
    set_buffer_estimates(grad_output, estimates.out_length, estimates);
    set_buffer_estimates(dx, estimates.L, estimates);
    set_parameter_estimates(p, kernel_size, stride, estimates);
    if (config.autoscheduled) {
        return stages;
    }
    if (target.has_gpu_feature()) {
        schedule_backward_gpu(stages, grad_input, config.layout, p, d, config.gpu);
        return stages;
    }
    RunTimeFacts facts{dense_along_length(input, output, grad_output, dx),
                       independent_rows(config.layout, dx), stride, kernel_size};
    schedule_backward_cpu(stages, grad_input, config.layout, p, facts, d, config.cpu, target);
    return stages;
}

}  // namespace lppool
