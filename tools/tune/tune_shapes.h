// lppool-tune: the shapes it tunes for, the kernel that serves each (the
// runtime's rules), and the targets its JIT candidates compile for.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "Halide.h"
#include "benchmark_cases.h"
#include "kernel_params.h"
#include "kernel_variants.h"
#include "lppool1d_pipeline.h"

namespace lppool_tune {

using Clock = std::chrono::steady_clock;
using lppool::KernelConfig;
using lppool::KnobSpec;
using lppool::Layout;

inline double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}


// Shapes and the kernels that serve them.

enum class Device { cpu, cuda, opencl };

inline const char *device_name(Device d) {
    return d == Device::cpu ? "cpu" : d == Device::cuda ? "cuda" : "opencl";
}

struct TuneShape {
    std::string label;
    int64_t N = 0, C = 0, L = 0, K = 0, S = 0;
    double p = 2.0;
    bool f64 = false, channels_last = false, backward = false;

    int64_t out_length() const { return (L - K) / S + 1; }  // floor mode
    std::string spec() const {
        std::ostringstream s;
        s << N << ',' << C << ',' << L << ',' << K << ',' << S << ',' << p << ','
          << (f64 ? "f64" : "f32") << ',' << (channels_last ? "channels_last" : "rows") << ','
          << (backward ? "backward" : "forward");
        return s.str();
    }
};

// The shape as the runtime hands it to the kernel: short dense rows whose
// windows tile them run as one long row (variants::fold_rows), and long rows
// of few-row calls as pieces (variants::full_pieces; the call of the rest,
// where there is one, is left out). The label keeps the shape as given. (Small inputs run their
// parallel loops on the calling thread, as the runtime does: JitKernel::run.)
inline TuneShape as_the_runtime_runs(TuneShape s) {
    if (s.channels_last) {
        return s;
    }
    if (lppool::variants::fold_rows(s.K, s.S, s.L, s.out_length(), s.N * s.C)) {
        s.L *= s.N * s.C;
        s.N = s.C = 1;
    }
    const lppool::variants::Pieces pieces =
        lppool::variants::full_pieces(s.backward, s.K, s.S, s.out_length(), s.L, s.N * s.C);
    if (pieces.count > 0) {
        const int64_t W = pieces.outputs;
        s.C *= pieces.count;
        s.L = s.backward ? W * s.S : (W - 1) * s.S + s.K;
    }
    return s;
}

// "N,C,L,K,S,p,dtype,layout,pass", e.g. 32,64,16384,4,4,2,f32,rows,forward.
inline TuneShape parse_shape(const std::string &spec) {
    std::vector<std::string> f;
    std::stringstream in(spec);
    for (std::string item; std::getline(in, item, ',');) {
        f.push_back(item);
    }
    const std::string usage = "shape \"" + spec +
                              "\": expected N,C,L,K,S,p,dtype,layout,pass "
                              "(e.g. 32,64,16384,4,4,2,f32,rows,forward)";
    if (f.size() != 9) {
        throw std::invalid_argument(usage);
    }
    TuneShape s;
    s.label = spec;
    int64_t *ints[] = {&s.N, &s.C, &s.L, &s.K, &s.S};
    for (int i = 0; i < 5; i++) {
        char *end = nullptr;
        const long long v = std::strtoll(f[i].c_str(), &end, 10);
        if (f[i].empty() || *end != '\0' || v < 1 || v > (int64_t(1) << 31) - 1) {
            throw std::invalid_argument(usage + ": field " + std::to_string(i + 1) +
                                        " must be an integer in [1, 2^31)");
        }
        *ints[i] = v;
    }
    char *end = nullptr;
    s.p = std::strtod(f[5].c_str(), &end);
    if (f[5].empty() || *end != '\0' || !(s.p > 0) || !std::isfinite(s.p)) {
        throw std::invalid_argument(usage + ": p must be a finite number > 0");
    }
    if (f[6] != "f32" && f[6] != "f64") {
        throw std::invalid_argument(usage + ": dtype must be f32 or f64");
    }
    if (f[7] != "rows" && f[7] != "channels_last") {
        throw std::invalid_argument(usage + ": layout must be rows or channels_last");
    }
    if (f[8] != "forward" && f[8] != "backward") {
        throw std::invalid_argument(usage + ": pass must be forward or backward");
    }
    s.f64 = f[6] == "f64";
    s.channels_last = f[7] == "channels_last";
    s.backward = f[8] == "backward";
    if (s.K > s.L) {
        throw std::invalid_argument(usage + ": K must be at most L");
    }
    if (s.N * s.C * s.L > (int64_t(1) << 31)) {
        throw std::invalid_argument(usage + ": more than 2^31 elements is more than a tuning run needs");
    }
    return as_the_runtime_runs(s);
}

inline std::vector<TuneShape> benchmark_shapes() {
    std::vector<TuneShape> shapes;
    for (const auto &c : lppool_bench::cases()) {
        if (c.half != lppool_bench::Half::none) {
            continue;  // lppool-tune measures float32 and float64 kernels
        }
        TuneShape s;
        s.N = c.N, s.C = c.C, s.L = c.L, s.K = c.K, s.S = c.S, s.p = c.p;
        s.f64 = c.f64, s.channels_last = c.channels_last, s.backward = c.backward;
        s.label = "(" + c.id + ") " + s.spec();
        shapes.push_back(as_the_runtime_runs(s));
    }
    return shapes;
}

// "(a)" for a benchmark case, else the shape's spec.
inline std::string short_label(const TuneShape &s) {
    const size_t close = s.label.find(')');
    return s.label.rfind('(', 0) == 0 && close != std::string::npos ? s.label.substr(0, close + 1)
                                                                    : s.spec();
}

// The kernel a shape runs on: the line of schedules/kernels.def the
// runtime's rules pick (runtime/kernel_variants.h), named as the build names
// it without the lppool1d_ prefix, and compiled with that line's generator
// parameters.
struct KernelKind {
    std::string key;
    bool backward = false, f64 = false;
    std::string params;  // the kernels.def line's generator parameters
    KernelConfig fixed;  // the default config with `params` applied
    Layout layout() const { return fixed.layout; }
    bool along_window() const {
        return fixed.cpu.window_vectorization == lppool::WindowVectorization::AlongWindow;
    }
    // GPU rows forward without shared-memory staging.
    bool unstaged() const { return !fixed.gpu.gpu_stage_powers; }
};

inline KernelKind kernel_for(const TuneShape &s, Device device) {
    lppool::variants::Call call;
    call.gpu = device != Device::cpu;
    call.backward = s.backward;
    // Channels-last memory with few channels runs the rows kernel, strided.
    call.channels_last = s.channels_last && s.C >= lppool::variants::kMinChannelsForChannelsLast;
    call.kernel_size = s.K;
    call.stride = s.S;
    call.p = s.p;
    call.element_bytes = s.f64 ? 8 : 4;
    call.gpu_staging_tile = lppool::knob::gpu_tile_outputs.default_value;
    const std::string variant = lppool::variants::kernel_variant(call);
    const char *schedule = call.gpu ? "gpu" : "cpu", *pass = s.backward ? "backward" : "forward";
    for (const lppool::RegistryLine &line : lppool::kRegistryLines) {
        if (line.schedule == std::string(schedule) && line.pass == std::string(pass) &&
            line.variant == variant) {
            KernelKind k;
            k.backward = s.backward;
            k.f64 = s.f64;
            k.key = std::string(pass) + (s.f64 ? "_f64_" : "_f32_") + variant +
                    (call.gpu ? std::string("_") + device_name(device) : "");
            k.params = line.params;
            lppool::apply_kernel_params(k.fixed, k.params);
            return k;
        }
    }
    throw std::logic_error("no " + std::string(schedule) + " " + pass + " " + variant +
                           " line in schedules/kernels.def");
}

// The knobs that change a kernel's schedule: the others keep their defaults.
inline std::vector<KnobSpec> searched_knobs(const KernelKind &k, Device device) {
    namespace knob = lppool::knob;
    std::vector<KnobSpec> knobs;
    if (device == Device::cpu) {
        knobs = {knob::vector_multiple, knob::chunk_outputs, knob::min_parallel_rows,
                 knob::long_chunk_outputs};
        // Windows vectorized along themselves have no chunk buffers and no
        // vector loop over outputs; channels-last vectors run across C, and
        // its backward reads y and dy in place; only rows-layout forwards
        // can sum |x|^p unstaged (cpu_schedule.h, the forward generator).
        if (!k.along_window()) {
            if (k.layout() == Layout::Rows) {
                knobs.push_back(knob::unroll_vectors);
            }
            if (k.layout() == Layout::Rows || !k.backward) {
                knobs.push_back(knob::scratch_on_stack);
            }
            if (!k.backward && k.layout() == Layout::Rows) {
                knobs.push_back(knob::stage_powers);
            }
        }
    } else if (k.layout() == Layout::ChannelsLast) {
        knobs = {knob::gpu_tile_channels, knob::gpu_tile_positions};
    } else {
        knobs = {knob::gpu_tile_outputs};
        if (!k.backward) {
            knobs.push_back(knob::gpu_stage_powers);
        }
    }
    // A knob the kernels.def line sets is that kernel's, not the search's.
    knobs.erase(std::remove_if(knobs.begin(), knobs.end(),
                               [&](const KnobSpec &spec) {
                                   return (" " + k.params).find(std::string(" ") + spec.name +
                                                                "=") != std::string::npos;
                               }),
                knobs.end());
    return knobs;
}

// Targets: the JIT compiles for what the AOT build would run here.

inline std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, sep);) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

// The first of the multi-target build's CPU targets this machine supports:
// the variant its AOT kernels run.
inline Halide::Target aot_cpu_target() {
    const Halide::Target host = Halide::get_host_target();
    for (const std::string &name : split(LPPOOL_CPU_TARGETS, ',')) {
        if (name == "host") {
            return host;
        }
        Halide::Target t(name);
        bool supported = t.arch == host.arch && t.bits == host.bits && t.os == host.os;
        for (int f = 0; f < Halide::Target::FeatureEnd && supported; f++) {
            const auto feature = static_cast<Halide::Target::Feature>(f);
            supported = !t.has_feature(feature) || host.has_feature(feature);
        }
        if (supported) {
            return t;
        }
    }
    return host;
}

inline Halide::Target jit_target(Device device) {
    Halide::Target t = aot_cpu_target().with_feature(Halide::Target::LargeBuffers);
    if (device != Device::cpu) {
        const Halide::Target gpu(device == Device::cuda ? LPPOOL_CUDA_TARGET : LPPOOL_OPENCL_TARGET);
        for (int f = 0; f < Halide::Target::FeatureEnd; f++) {
            const auto feature = static_cast<Halide::Target::Feature>(f);
            if (gpu.has_feature(feature) && feature != Halide::Target::UserContext) {
                t.set_feature(feature);
            }
        }
    }
    return t;
}

}  // namespace lppool_tune
