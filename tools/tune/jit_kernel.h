// lppool-tune: a JIT-compiled candidate, allocating through the runtime's
// block cache as the AOT kernels do, and how it is timed.
#pragma once

#include "block_cache.h"
#include "call_context.h"
#include "tune_candidates.h"
#include "tune_problems.h"

namespace lppool_tune {

// JIT kernels.

// Candidates allocate their intermediates as the AOT kernels do under the
// runtime (runtime/block_cache.h), so their times are the times of the
// kernels a build would compile: with the JIT's plain malloc, case (a) ran
// 20% slower, and a knob that changes how often the kernel allocates (the
// chunk length) was judged on that cost.
inline void *aligned_block(void *, size_t size) {
    constexpr size_t kAlignment = 128;  // as Halide's own halide_malloc
    return std::aligned_alloc(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
}
inline void free_aligned_block(void *, void *ptr) { std::free(ptr); }
inline void *jit_allocate(Halide::JITUserContext *, size_t size) {
    return lppool::detail::allocate_block(nullptr, size);
}
inline void jit_free(Halide::JITUserContext *, void *ptr) { lppool::detail::free_block(nullptr, ptr); }

class JitKernel {
public:
    JitKernel(const KernelKind &kind, const KernelConfig &config, const TuneShape &estimate_shape,
              const Halide::Target &target, const std::string &autoscheduler = "")
        : target_(target), backward_(kind.backward) {
        using namespace Halide;
        const Type t = kind.f64 ? Float(64) : Float(32);
        input_ = ImageParam(t, 3, "input");
        output_ = ImageParam(t, 3, "output");
        grad_output_ = ImageParam(t, 3, "grad_output");
        lppool::ShapeEstimates e;
        e.N = estimate_shape.N, e.C = estimate_shape.C, e.L = estimate_shape.L;
        e.out_length = estimate_shape.out_length();
        e.p = estimate_shape.p, e.kernel_size = int(estimate_shape.K),
        e.stride = int(estimate_shape.S);
        Func result(backward_ ? "grad_input" : "output_values");
        if (backward_) {
            lppool::build_backward(input_, output_, grad_output_, p_, kernel_size_, stride_, result,
                                   config, e, target);
        } else {
            lppool::build_forward(input_, p_, kernel_size_, stride_, result, config, e, target);
        }
        pipeline_ = Pipeline(result);
        pipeline_.jit_handlers().custom_malloc = jit_allocate;
        pipeline_.jit_handlers().custom_free = jit_free;
        const Clock::time_point start = Clock::now();
        if (!autoscheduler.empty()) {
            pipeline_.auto_schedule(autoscheduler, target, MachineParams::generic());
        }
        pipeline_.compile_jit(target);
        compile_seconds = seconds_since(start);
    }

    void run(Problem &p) {
        input_.set(p.x);
        if (backward_) {
            output_.set(p.y);
            grad_output_.set(p.dy);
        }
        p_.set(p.shape.p);
        kernel_size_.set(int(p.shape.K));
        stride_.set(int(p.shape.S));
        const TuneShape &s = p.shape;
        // Small inputs' parallel loops on the calling thread, as the runtime
        // runs them (variants::run_serially): timed on the thread pool, such a
        // shape would be tuned for a launch the runtime never makes. A
        // context's handlers override the pipeline's for this call.
        Halide::JITUserContext context;
        if (!target_.has_gpu_feature() &&
            lppool::variants::run_serially(s.N * s.C * s.L * (s.f64 ? 8 : 4))) {
            context.handlers.custom_do_par_for =
                lppool::detail::run_tasks_in_order<Halide::JITUserContext>;
        }
        pipeline_.realize(&context, p.result(), target_);
    }

    // Waits for the device (GPU targets) and brings the result to the host.
    void finish(Problem &p) {
        if (target_.has_gpu_feature()) {
            p.result().copy_to_host();
        }
    }

    double compile_seconds = 0;

private:
    Halide::Target target_;
    bool backward_;
    Halide::ImageParam input_, output_, grad_output_;
    Halide::Param<double> p_{"p"};
    Halide::Param<int> kernel_size_{"kernel_size"}, stride_{"stride"};
    Halide::Pipeline pipeline_;
};

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A sample of a kernel faster than this is several calls, timed together:
// one call of case (j) (4 us) timed alone varied by more than the
// differences between candidates, so its kernel could never be shown no
// slower than its default.
constexpr double kMinSampleMs = 2.0;

inline void run_synchronously(JitKernel &k, Problem &p) {
    k.run(p);
    if (p.result().has_device_allocation()) {
        p.result().device_sync();
    }
}

// Milliseconds per call over `calls` calls.
inline double sample_ms(JitKernel &k, Problem &p, int calls) {
    const Clock::time_point start = Clock::now();
    for (int c = 0; c < calls; c++) {
        run_synchronously(k, p);
    }
    return seconds_since(start) * 1e3 / calls;
}

// Runs the kernel twice, a warm-up and a timed call, and returns how many
// calls make a sample. (A fresh JIT pipeline's first call pays one-time
// costs: timed alone, it made case (j)'s samples single calls.)
inline int calls_per_sample(JitKernel &k, Problem &p) {
    k.run(p);
    k.finish(p);
    const double one_ms = sample_ms(k, p, 1);
    return one_ms >= kMinSampleMs
               ? 1
               : int(std::min(1000.0, std::ceil(kMinSampleMs / std::max(one_ms, 1e-4))));
}

// The median of `repeats` samples.
inline double median_ms(JitKernel &k, Problem &p, int repeats) {
    const int calls = calls_per_sample(k, p);
    std::vector<double> ms;
    for (int i = 0; i < repeats; i++) {
        ms.push_back(sample_ms(k, p, calls));
    }
    return median(ms);
}

// A candidate's time relative to a baseline (the default), sampled in turns:
// on a shared machine whose speed drifts by 10% within minutes, a candidate
// timed minutes after its baseline was judged on the drift (candidates
// whose code was identical for the shape measured 0.96x to 1.14x). The
// median of the per-turn ratios, cut short when the first 3 turns are all
// over `give_up_ratio`.
inline double ratio_against(JitKernel &candidate, JitKernel &baseline, Problem &p, int turns,
                     double give_up_ratio) {
    const int candidate_calls = calls_per_sample(candidate, p);
    const int baseline_calls = calls_per_sample(baseline, p);
    std::vector<double> ratios;
    for (int i = 0; i < turns; i++) {
        // Either may go first: alternate, so neither always follows the other.
        double base, ms;
        if (i % 2 == 0) {
            base = sample_ms(baseline, p, baseline_calls);
            ms = sample_ms(candidate, p, candidate_calls);
        } else {
            ms = sample_ms(candidate, p, candidate_calls);
            base = sample_ms(baseline, p, baseline_calls);
        }
        ratios.push_back(ms / base);
        if (i == 2 && *std::min_element(ratios.begin(), ratios.end()) > give_up_ratio) {
            break;
        }
    }
    return median(ratios);
}

}  // namespace lppool_tune
