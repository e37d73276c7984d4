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
    return s;
}

inline std::vector<TuneShape> benchmark_shapes() {
    std::vector<TuneShape> shapes;
    for (const auto &c : lppool_bench::cases()) {
        TuneShape s;
        s.N = c.N, s.C = c.C, s.L = c.L, s.K = c.K, s.S = c.S, s.p = c.p;
        s.f64 = c.f64, s.channels_last = c.channels_last, s.backward = c.backward;
        s.label = "(" + c.id + ") " + s.spec();
        shapes.push_back(s);
    }
    return shapes;
}

// "(a)" for a benchmark case, else the shape's spec.
inline std::string short_label(const TuneShape &s) {
    const size_t close = s.label.find(')');
    return s.label.rfind('(', 0) == 0 && close != std::string::npos ? s.label.substr(0, close + 1)
                                                                    : s.spec();
}

// The kernel a shape runs on, named as in generators/CMakeLists.txt without
// the lppool1d_ prefix; the rules are the runtime's (runtime/kernel_variants.h).
struct KernelKind {
    std::string key;
    bool backward = false, f64 = false;
    Layout layout = Layout::Rows;
    lppool::WindowVectorization window = lppool::WindowVectorization::AcrossOutputs;
    // The specializations the AOT build compiles this kernel with
    // (generators/CMakeLists.txt).
    lppool::SpecializedPowers powers = lppool::SpecializedPowers::All;
    lppool::SpecializedRows strided_rows = lppool::SpecializedRows::All;
    bool unstaged = false;  // GPU rows forward without shared-memory staging
};

inline KernelKind kernel_for(const TuneShape &s, Device device) {
    KernelKind k;
    k.backward = s.backward;
    k.f64 = s.f64;
    // Channels-last memory with few channels runs the rows kernel, strided.
    const bool channels_last =
        s.channels_last && s.C >= lppool::variants::kMinChannelsForChannelsLast;
    k.layout = channels_last ? Layout::ChannelsLast : Layout::Rows;
    k.key = std::string(s.backward ? "backward_" : "forward_") + (s.f64 ? "f64_" : "f32_") +
            (channels_last ? "channels_last" : "rows");
    using lppool::variants::CpuRowsForward;
    if (s.backward && !channels_last && device == Device::cpu &&
        lppool::variants::cpu_rows_backward(s.K, s.S) ==
            lppool::variants::CpuRowsBackward::overlapping) {
        k.key += "_overlapping";
    } else if (!s.backward && !channels_last && device == Device::cpu) {
        switch (lppool::variants::cpu_rows_forward(s.K, s.S, s.out_length(), s.N * s.C, s.p)) {
        case CpuRowsForward::wide_windows:
            k.key += "_wide_windows";
            k.window = lppool::WindowVectorization::AlongWindow;
            break;
        case CpuRowsForward::overlapping: k.key += "_overlapping"; break;
        case CpuRowsForward::short_rows:
            k.key += "_short";
            k.strided_rows = lppool::SpecializedRows::Many;
            break;
        case CpuRowsForward::long_signals:
            k.key += "_long";
            k.strided_rows = lppool::SpecializedRows::Few;
            break;
        case CpuRowsForward::general_powers:
            k.key += "_general_powers";
            k.powers = lppool::SpecializedPowers::General;
            k.strided_rows = lppool::SpecializedRows::Many;
            break;
        case CpuRowsForward::rows:
            k.powers = lppool::SpecializedPowers::Exact;
            k.strided_rows = lppool::SpecializedRows::Many;
            break;
        }
    } else if (!s.backward && !channels_last &&
               !lppool::variants::fits_gpu_staging(lppool::knob::gpu_tile_outputs.default_value,
                                                   s.K, s.S, s.f64 ? 8 : 4)) {
        k.key += "_unstaged";
        k.unstaged = true;
    }
    if (device != Device::cpu) {
        k.key += std::string("_") + device_name(device);
    }
    return k;
}

// The knobs that change a kernel's schedule: the others keep their defaults.
inline std::vector<KnobSpec> searched_knobs(const KernelKind &k, Device device) {
    namespace knob = lppool::knob;
    if (device == Device::cpu) {
        std::vector<KnobSpec> knobs = {knob::vector_multiple, knob::chunk_outputs,
                                       knob::min_parallel_rows, knob::long_chunk_outputs};
        // Windows vectorized along themselves have no chunk buffers and no
        // vector loop over outputs; channels-last vectors run across C, and
        // its backward reads y and dy in place; only rows-layout forwards
        // can sum |x|^p unstaged (cpu_schedule.h, the forward generator).
        if (k.window == lppool::WindowVectorization::AcrossOutputs) {
            if (k.layout == Layout::Rows) {
                knobs.push_back(knob::unroll_vectors);
            }
            if (k.layout == Layout::Rows || !k.backward) {
                knobs.push_back(knob::scratch_on_stack);
            }
            if (!k.backward && k.layout == Layout::Rows) {
                knobs.push_back(knob::stage_powers);
            }
        }
        return knobs;
    }
    if (k.layout == Layout::ChannelsLast) {
        return {knob::gpu_tile_channels, knob::gpu_tile_positions};
    }
    if (!k.backward && !k.unstaged) {
        return {knob::gpu_tile_outputs, knob::gpu_stage_powers};
    }
    return {knob::gpu_tile_outputs};
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
