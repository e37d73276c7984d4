// lppool-tune: tunes the schedule knobs (schedules/tunable_knobs.def) of the
// LPPool1d kernels for this machine and a list of shapes, and writes a
// tuned-parameters file that the next build compiles in
// (-DLPPOOL_TUNED_PARAMS=<file>, cmake/LPPoolTuned.cmake).
//
// Candidates are JIT-compiled from the same algorithm, kernel assembly and
// schedule functions as the AOT build (generators/lppool1d_pipeline.h), for
// the CPU target the multi-target AOT kernels would pick on this machine.
// Each is checked against the long-double reference (common/reference.h)
// before it is timed; a wrong candidate is rejected. Search: coordinate
// descent over each kernel's knobs from the defaults, in a seeded order,
// with a time budget; slow candidates are cut off early, and the leaders are
// re-timed at the end beside two instances of the default, the winner again
// as a fresh instance of its own. See tools/tune/README.md.
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
#include "block_cache.h"
#include "benchmark_cases.h"
#include "kernel_variants.h"
#include "lppool1d_pipeline.h"
#include "reference.h"

namespace {

using Clock = std::chrono::steady_clock;
using lppool::KernelConfig;
using lppool::KnobSpec;
using lppool::Layout;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---------------------------------------------------------------------------
// Shapes and the kernels that serve them.

enum class Device { cpu, cuda, opencl };

const char *device_name(Device d) {
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
TuneShape parse_shape(const std::string &spec) {
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

std::vector<TuneShape> benchmark_shapes() {
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
std::string short_label(const TuneShape &s) {
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

KernelKind kernel_for(const TuneShape &s, Device device) {
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
std::vector<KnobSpec> searched_knobs(const KernelKind &k, Device device) {
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

// ---------------------------------------------------------------------------
// Candidates: a value for each searched knob.

using Candidate = std::map<std::string, int>;

// The knob named `name` in tunable_knobs.def, or nullptr.
const KnobSpec *find_knob(const std::string &name) {
    for (const KnobSpec &spec : lppool::kAllKnobs) {
        if (name == spec.name) {
            return &spec;
        }
    }
    return nullptr;
}

const KnobSpec &knob_spec(const std::string &name) {
    const KnobSpec *spec = find_knob(name);
    if (!spec) {
        throw std::logic_error("no knob named " + name);
    }
    return *spec;
}

// "vector_multiple, chunk_outputs, ...": every knob, for error messages.
std::string knob_names() {
    std::string names;
    for (const KnobSpec &spec : lppool::kAllKnobs) {
        names += (names.empty() ? "" : ", ") + std::string(spec.name);
    }
    return names;
}

std::vector<int> candidate_values(const KnobSpec &spec) {
    std::vector<int> values;
    std::stringstream in(spec.candidates);
    for (int v; in >> v;) {
        values.push_back(v);
    }
    return values;
}

Candidate default_candidate(const std::vector<KnobSpec> &knobs) {
    Candidate c;
    for (const KnobSpec &k : knobs) {
        c[k.name] = k.default_value;
    }
    return c;
}

std::string describe(const Candidate &c) {
    std::string s;
    for (const auto &[name, value] : c) {
        s += (s.empty() ? "" : " ") + name + "=" + std::to_string(value);
    }
    return s;
}

// A knob's value in a candidate: the default where the candidate leaves it.
int knob_value(const Candidate &c, const KnobSpec &spec) {
    auto it = c.find(spec.name);
    return it == c.end() ? spec.default_value : it->second;
}

KernelConfig config_for(const KernelKind &kind, const Candidate &c) {
    KernelConfig config;
    config.layout = kind.layout;
    config.cpu.window_vectorization = kind.window;
    config.cpu.specialized_powers = kind.powers;
    config.cpu.specialized_rows = kind.strided_rows;
    auto value = [&](const KnobSpec &spec) { return knob_value(c, spec); };
#define LPPOOL_KNOB(schedule, name, kind, def, lo, hi, values) \
    config.schedule.name = static_cast<kind>(value(lppool::knob::name));
#include "tunable_knobs.def"
#undef LPPOOL_KNOB
    // The unstaged GPU kernel is the one that never stages.
    config.gpu.gpu_stage_powers = config.gpu.gpu_stage_powers && !kind.unstaged;
    return config;
}

// A staged GPU candidate must stage every shape it serves (the runtime sends
// spans that do not fit to the unstaged kernel).
bool serves_all(const KernelKind &kind, const Candidate &c, const std::vector<TuneShape> &shapes,
                Device device) {
    if (device == Device::cpu || kind.backward || kind.layout != Layout::Rows || kind.unstaged) {
        return true;
    }
    const int tile = c.at(lppool::knob::gpu_tile_outputs.name);
    return std::all_of(shapes.begin(), shapes.end(), [&](const TuneShape &s) {
        return lppool::variants::fits_gpu_staging(tile, s.K, s.S, s.f64 ? 8 : 4);
    });
}

// ---------------------------------------------------------------------------
// Targets: the JIT compiles for what the AOT build would run here.

std::vector<std::string> split(const std::string &s, char sep) {
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
Halide::Target aot_cpu_target() {
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

Halide::Target jit_target(Device device) {
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

// ---------------------------------------------------------------------------
// Buffers and the reference.

// One problem's buffers: x, y (the forward result), dy and dx, with the
// kernel's layout, plus where the result goes.
struct Problem {
    TuneShape shape;
    int64_t out_length = 0;
    Halide::Buffer<> x, y, dy, dx;
    Halide::Buffer<> &result() { return shape.backward ? dx : y; }
    const Halide::Buffer<> &result() const { return shape.backward ? dx : y; }
};

Halide::Buffer<> make_buffer(const TuneShape &s, int64_t length) {
    const Halide::Type t = s.f64 ? Halide::Float(64) : Halide::Float(32);
    const std::vector<int> sizes{int(length), int(s.C), int(s.N)};
    // Channels-last: C is the innermost (fastest) dimension in memory.
    const std::vector<int> order =
        s.channels_last ? std::vector<int>{1, 0, 2} : std::vector<int>{0, 1, 2};
    return Halide::Buffer<>(t, sizes, order);
}

template <typename T>
T *element(Halide::Buffer<> &b, int64_t l, int64_t c, int64_t n) {
    return reinterpret_cast<T *>(b.data()) + l * b.dim(0).stride() + c * b.dim(1).stride() +
           n * b.dim(2).stride();
}

// Writes through the host pointer, so marks the host copy as the newest: a
// GPU pipeline copies an input to the device only when it is.
template <typename T>
void fill_from(Halide::Buffer<> &b, const reference::Tensor &t) {
    for (int64_t n = 0; n < t.N; n++)
        for (int64_t c = 0; c < t.C; c++)
            for (int64_t l = 0; l < t.L; l++) *element<T>(b, l, c, n) = T(t.at(n, c, l));
    b.set_host_dirty();
}

// Values in [-2, 2] with some exact zeros (abs, and the backward's x == 0
// rule). With `extreme_exponent` e, runs of 7 elements are scaled by 10^e or
// 10^-e at random, so some windows' power sums overflow or underflow and the
// forward's rescue must run.
reference::Tensor random_tensor(int64_t N, int64_t C, int64_t L, std::mt19937 &rng,
                                int extreme_exponent = 0) {
    reference::Tensor t(N, C, L);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    std::uniform_int_distribution<int> pick(-1, 1);
    reference::real scale = 1;
    for (size_t i = 0; i < t.v.size(); i++) {
        if (extreme_exponent && i % 7 == 0) {
            scale = std::pow(reference::real(10), reference::real(pick(rng) * extreme_exponent));
        }
        const double r = u(rng);
        t.v[i] = std::fabs(r) < 0.02 ? 0 : reference::real(r) * scale;
    }
    return t;
}

struct ReferenceProblem {
    Problem problem;
    reference::Tensor want, scale;  // expected result; per-element scale (backward)
};

// A problem with its reference; out_length from ceil mode when `ceil_mode`
// (a partial last window), else floor.
ReferenceProblem make_reference_problem(const TuneShape &s, bool ceil_mode, std::mt19937 &rng,
                                        int extreme_exponent = 0) {
    ReferenceProblem r;
    r.problem.shape = s;
    r.problem.out_length = reference::output_length(s.L, s.K, s.S, ceil_mode);
    reference::Tensor x = random_tensor(s.N, s.C, s.L, rng, extreme_exponent);
    reference::Tensor y = reference::forward(x, s.p, s.K, s.S, ceil_mode);
    Problem &p = r.problem;
    p.x = make_buffer(s, s.L);
    p.y = make_buffer(s, p.out_length);
    if (s.f64) {
        fill_from<double>(p.x, x);
    } else {
        fill_from<float>(p.x, x);
    }
    if (!s.backward) {
        r.want = std::move(y);
        return r;
    }
    // The backward reads y as the kernel's dtype gives it: round y first.
    for (auto &v : y.v) {
        v = s.f64 ? (reference::real)(double)v : (reference::real)(float)v;
    }
    for (auto &v : x.v) {
        v = s.f64 ? (reference::real)(double)v : (reference::real)(float)v;
    }
    reference::Tensor dy = random_tensor(s.N, s.C, p.out_length, rng);
    p.dy = make_buffer(s, p.out_length);
    p.dx = make_buffer(s, s.L);
    if (s.f64) {
        fill_from<double>(p.y, y);
        fill_from<double>(p.dy, dy);
    } else {
        fill_from<float>(p.y, y);
        fill_from<float>(p.dy, dy);
        for (auto &v : dy.v) v = (reference::real)(float)v;
    }
    reference::Gradient g = reference::backward(x, y, dy, s.p, s.K, s.S);
    r.want = std::move(g.grad_x);
    r.scale = std::move(g.magnitude);
    return r;
}

// Timing-only problem of the full tuning shape (no reference: too slow).
Problem make_timing_problem(const TuneShape &s, std::mt19937 &rng) {
    Problem p;
    p.shape = s;
    p.out_length = s.out_length();
    p.x = make_buffer(s, s.L);
    p.y = make_buffer(s, p.out_length);
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    auto fill = [&](Halide::Buffer<> &b) {
        const size_t n = b.number_of_elements();
        if (s.f64) {
            double *d = reinterpret_cast<double *>(b.data());
            for (size_t i = 0; i < n; i++) d[i] = u(rng);
        } else {
            float *d = reinterpret_cast<float *>(b.data());
            for (size_t i = 0; i < n; i++) d[i] = float(u(rng));
        }
    };
    fill(p.x);
    fill(p.y);
    if (s.backward) {
        p.dy = make_buffer(s, p.out_length);
        p.dx = make_buffer(s, s.L);
        fill(p.dy);
        // y must be a plausible forward result (positive): |y| + 1.
        const size_t n = p.y.number_of_elements();
        if (s.f64) {
            double *d = reinterpret_cast<double *>(p.y.data());
            for (size_t i = 0; i < n; i++) d[i] = std::fabs(d[i]) + 1;
        } else {
            float *d = reinterpret_cast<float *>(p.y.data());
            for (size_t i = 0; i < n; i++) d[i] = std::fabs(d[i]) + 1;
        }
    }
    return p;
}

// The tests' tolerances (tests/test_support.h): relative to |want| (forward)
// or to the sum of |terms| (backward), whose ratio^(p-1) amplifies rounding.
std::string mismatch(Problem &p, const ReferenceProblem &r) {
    const TuneShape &s = p.shape;
    double rel = s.f64 ? 1e-12 : 1e-5;
    if (s.backward) {
        rel *= std::max(1.0, std::fabs(s.p - 1));
    }
    const double min_normal = s.f64 ? 2.2250738585072014e-308 : 1.1754943508222875e-38;
    Halide::Buffer<> &got = p.result();
    for (int64_t n = 0; n < r.want.N; n++)
        for (int64_t c = 0; c < r.want.C; c++)
            for (int64_t l = 0; l < r.want.L; l++) {
                const reference::real want = r.want.at(n, c, l);
                const reference::real g = s.f64 ? (reference::real)*element<double>(got, l, c, n)
                                                : (reference::real)*element<float>(got, l, c, n);
                const reference::real scale =
                    std::max<reference::real>(s.backward ? r.scale.at(n, c, l) : std::fabs(want),
                                              min_normal);
                if (!std::isfinite(g) || std::fabs(g - want) > rel * scale) {
                    std::ostringstream m;
                    m << "at (n=" << n << ", c=" << c << ", l=" << l << ") got " << (double)g
                      << ", want " << (double)want;
                    return m.str();
                }
            }
    return "";
}

// An autoscheduled peer's result against ours on the same problem (ours was
// checked against the reference): relative to max(|ours|, 1), the data
// being O(1).
std::string differs(Problem &p, const Halide::Buffer<> &ours) {
    const TuneShape &s = p.shape;
    const double rel = (s.f64 ? 1e-10 : 1e-4) * std::max(1.0, std::fabs(s.p - 1));
    Halide::Buffer<> &got = p.result();
    Halide::Buffer<> want = ours;
    const int64_t length = got.dim(0).extent();
    for (int64_t n = 0; n < s.N; n++)
        for (int64_t c = 0; c < s.C; c++)
            for (int64_t l = 0; l < length; l++) {
                const double g = s.f64 ? *element<double>(got, l, c, n) : *element<float>(got, l, c, n);
                const double w = s.f64 ? *element<double>(want, l, c, n) : *element<float>(want, l, c, n);
                if (!(std::fabs(g - w) <= rel * std::max(std::fabs(w), 1.0))) {
                    std::ostringstream m;
                    m << "at (n=" << n << ", c=" << c << ", l=" << l << ") got " << g
                      << ", ours " << w;
                    return m.str();
                }
            }
    return "";
}

// ---------------------------------------------------------------------------
// JIT kernels.

// Candidates allocate their intermediates as the AOT kernels do under the
// runtime (runtime/block_cache.h), so their times are the times of the
// kernels a build would compile: with the JIT's plain malloc, case (a) ran
// 20% slower, and a knob that changes how often the kernel allocates (the
// chunk length) was judged on that cost.
void *aligned_block(void *, size_t size) {
    constexpr size_t kAlignment = 128;  // as Halide's own halide_malloc
    return std::aligned_alloc(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
}
void free_aligned_block(void *, void *ptr) { std::free(ptr); }
void *jit_allocate(Halide::JITUserContext *, size_t size) {
    return lppool::detail::allocate_block(nullptr, size);
}
void jit_free(Halide::JITUserContext *, void *ptr) { lppool::detail::free_block(nullptr, ptr); }

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
        pipeline_.realize(p.result(), target_);
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

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A sample of a kernel faster than this is several calls, timed together:
// one call of case (j) (4 us) timed alone varied by more than the
// differences between candidates, so its kernel could never be shown no
// slower than its default.
constexpr double kMinSampleMs = 2.0;

void run_synchronously(JitKernel &k, Problem &p) {
    k.run(p);
    if (p.result().has_device_allocation()) {
        p.result().device_sync();
    }
}

// Milliseconds per call over `calls` calls.
double sample_ms(JitKernel &k, Problem &p, int calls) {
    const Clock::time_point start = Clock::now();
    for (int c = 0; c < calls; c++) {
        run_synchronously(k, p);
    }
    return seconds_since(start) * 1e3 / calls;
}

// Runs the kernel twice, a warm-up and a timed call, and returns how many
// calls make a sample. (A fresh JIT pipeline's first call pays one-time
// costs: timed alone, it made case (j)'s samples single calls.)
int calls_per_sample(JitKernel &k, Problem &p) {
    k.run(p);
    k.finish(p);
    const double one_ms = sample_ms(k, p, 1);
    return one_ms >= kMinSampleMs
               ? 1
               : int(std::min(1000.0, std::ceil(kMinSampleMs / std::max(one_ms, 1e-4))));
}

// The median of `repeats` samples.
double median_ms(JitKernel &k, Problem &p, int repeats) {
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
double ratio_against(JitKernel &candidate, JitKernel &baseline, Problem &p, int turns,
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

// ---------------------------------------------------------------------------
// Progress on the terminal: a bar redrawn in place on a TTY, else one line
// per candidate (CI logs).

class Progress {
public:
    Progress(double budget_s, bool quiet)
        : start_(Clock::now()), budget_s_(budget_s), tty_(isatty(2) != 0), quiet_(quiet) {}

    double elapsed() const { return seconds_since(start_); }
    double left() const { return budget_s_ - elapsed(); }

    void update(const std::string &kernel, int tried, int rejected, double best_ratio,
                const std::string &last) {
        if (quiet_) {
            return;
        }
        const double e = elapsed();
        const double frac = std::min(1.0, e / budget_s_);
        const int width = 24, filled = int(frac * width);
        char line[512];
        std::snprintf(line, sizeof line,
                      "[%s%s] %3.0f%% %5.0f/%.0f s  %-30s tried %3d (%d rejected)  best %.3fx "
                      "default  ETA %.0f s",
                      std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(),
                      frac * 100, e, budget_s_, kernel.c_str(), tried, rejected, best_ratio,
                      std::max(0.0, budget_s_ - e));
        if (tty_) {
            std::fprintf(stderr, "\r%s\033[K", line);
        } else {
            std::fprintf(stderr, "%s  | %s\n", line, last.c_str());
        }
        std::fflush(stderr);
    }

    void end_line() {
        if (tty_ && !quiet_) {
            std::fprintf(stderr, "\n");
        }
    }

    void note(const std::string &msg) {
        end_line();
        std::fprintf(stderr, "%s\n", msg.c_str());
    }

private:
    Clock::time_point start_;
    double budget_s_;
    bool tty_, quiet_;
};

// ---------------------------------------------------------------------------
// The search.

struct Options {
    std::vector<TuneShape> shapes;
    double budget_s = 600;
    unsigned seed = 1;
    int repeats = 7;
    std::string output;
    Device device = Device::cpu;
    std::vector<std::string> peers{"Adams2019", "Mullapudi2016", "Li2018"};
    std::vector<std::string> only_knobs;  // empty: every knob the kernel has
    bool quiet = false;
};

// The kernel's knobs that --knobs leaves to the search.
std::vector<KnobSpec> knobs_to_search(const KernelKind &k, const Options &opt) {
    std::vector<KnobSpec> knobs = searched_knobs(k, opt.device);
    if (!opt.only_knobs.empty()) {
        knobs.erase(std::remove_if(knobs.begin(), knobs.end(),
                                   [&](const KnobSpec &spec) {
                                       return std::find(opt.only_knobs.begin(),
                                                        opt.only_knobs.end(),
                                                        spec.name) == opt.only_knobs.end();
                                   }),
                    knobs.end());
    }
    return knobs;
}

// How much slower than the default a candidate may measure on one shape and
// still count as a step of the search (timing noise on a shared machine).
constexpr double kSearchSlack = 1.03;

struct Evaluation {
    Candidate candidate;
    bool ok = false;
    std::string why;                     // rejected: the reason
    std::vector<double> medians;         // per shape
    std::vector<double> ratios;          // per shape: median / the default's median
    double cost = INFINITY;              // geometric mean of median / default median (see measure)
    std::shared_ptr<JitKernel> kernel;   // kept while it may be a finalist
};

// One kernel's tuning: its shapes, their problems, and what was tried.
class KernelTuner {
public:
    KernelTuner(KernelKind kind, std::vector<TuneShape> shapes, const Options &opt,
                const Halide::Target &target, Progress &progress)
        : kind_(std::move(kind)), shapes_(std::move(shapes)), opt_(opt), target_(target),
          progress_(progress), knobs_(knobs_to_search(kind_, opt)), rng_(opt.seed) {
        std::mt19937 data_rng(opt.seed);
        for (const TuneShape &s : shapes_) {
            timing_.push_back(make_timing_problem(s, data_rng));
            for (const TuneShape &c : check_shapes(s)) {
                checks_.push_back(make_reference_problem(c, true, data_rng));
                if (!s.backward) {
                    add_crops(checks_.size() - 1);
                }
            }
            if (!s.backward) {
                // Overflowing and underflowing windows: the rescue paths.
                checks_.push_back(make_reference_problem(check_shapes(s).back(), true, data_rng,
                                                         s.f64 ? 200 : 30));
            }
        }
        if (opt.device != Device::cpu) {
            for (Problem &p : timing_) {
                for (Halide::Buffer<> *b : {&p.x, &p.y, &p.dy, &p.dx}) {
                    if (b->defined()) {
                        b->set_host_dirty();
                        if (b->copy_to_device(Halide::DeviceAPI::Default_GPU, target_) != 0) {
                            throw std::runtime_error("cannot copy the tuning data to the device");
                        }
                    }
                }
            }
        }
    }

    const KernelKind &kind() const { return kind_; }
    const std::vector<TuneShape> &shapes() const { return shapes_; }

    // Coordinate descent from the defaults until `deadline` (seconds of
    // progress time) or until a full round improves nothing. All values of
    // one knob form a batch: compiled in parallel (compiling is the slow
    // part, ~10 s a candidate), then checked and timed one at a time on an
    // otherwise idle machine.
    void search(double deadline) {
        Candidate current = default_candidate(knobs_);
        evaluate_batch({current});
        const Evaluation &base = tried_.at(describe(current));
        if (!base.ok) {
            throw std::runtime_error("the default schedule of " + kind_.key +
                                     " fails its check: " + base.why);
        }
        if (std::find(crop_ok_for_default_.begin(), crop_ok_for_default_.end(), false) !=
            crop_ok_for_default_.end()) {
            // No candidate could be shown to keep the stream's exactness
            // when the default does not keep it: leave this kernel alone.
            progress_.note("not tuning " + kind_.key +
                           ": its default schedule's results depend on slicing (see the notes "
                           "above), so the tuner cannot check that a candidate keeps "
                           "LPPool1dStream's bit-exactness");
            return;
        }
        double best = base.cost;
        for (bool improved = true; improved && progress_.elapsed() < deadline;) {
            improved = false;
            std::vector<KnobSpec> order = knobs_;
            std::shuffle(order.begin(), order.end(), rng_);
            // Knobs with few values first: a kernel's share of the budget
            // often fits only a few batches, and one sweep of chunk_outputs
            // costs as much as every boolean and small knob together (a run
            // in the other order never reached scratch_on_stack).
            std::stable_sort(order.begin(), order.end(), [](const KnobSpec &a, const KnobSpec &b) {
                return candidate_values(a).size() < candidate_values(b).size();
            });
            for (const KnobSpec &knob : order) {
                std::vector<int> values = candidate_values(knob);
                const int now = current.at(knob.name);
                // Nearest values first: the likeliest improvements, and the
                // ones kept when the budget trims the batch.
                std::stable_sort(values.begin(), values.end(), [&](int a, int b) {
                    return std::abs(std::log2(double(a) + 1) - std::log2(double(now) + 1)) <
                           std::abs(std::log2(double(b) + 1) - std::log2(double(now) + 1));
                });
                std::vector<Candidate> batch;
                for (int v : values) {
                    Candidate next = current;
                    next[knob.name] = v;
                    if (v != now && !tried_.count(describe(next)) && changes_code(current, next)) {
                        batch.push_back(next);
                    }
                }
                const double left = deadline - progress_.elapsed();
                const size_t fits = size_t(std::max(0.0, left / seconds_per_candidate_));
                if (fits == 0) {
                    return;
                }
                if (batch.size() > fits) {
                    batch.resize(fits);
                }
                for (const Evaluation *e : evaluate_batch(batch)) {
                    if (e->ok && e->cost < best * 0.99) {
                        best = e->cost;
                        current = e->candidate;
                        improved = true;
                    }
                }
            }
        }
    }

    // Re-times the default and the best few candidates side by side and
    // picks the fastest that is no slower than the default on any of this
    // kernel's shapes, or the default when none is.
    //
    // Two JIT instances of one identical pipeline can time up to ~10% apart
    // (where code and blocks land; see tools/tune/README.md), so one default
    // instance that happens to be slow made a no-better candidate look
    // faster (a backward "0.818x" that the AOT build never showed). Hence a
    // second, freshly compiled default (its ratio to the first is printed:
    // this process's resolution), a candidate's ratio on a shape is its
    // worst against either default, and the winner is compiled again and
    // must pass the same rule a second time as that new instance.
    //
    // The finalists are the leaders by cost, with the last place kept for
    // the candidate whose worst shape was best in the search, when that one
    // is faster than the default on every shape and not a leader already:
    // the leaders can all be one move that is much faster on some shapes
    // and at parity on another (backward_f32_rows: three vector_multiple=4
    // finalists, each 0.63x-0.88x on (h_a)/(h_d) and 1.04x on (h_e), while
    // scratch_on_stack alone, 0.90x-0.97x on all three, was never re-timed).
    void final_round(int leaders, int rounds) {
        const Candidate defaults = default_candidate(knobs_);
        Evaluation *const default_evaluation = &tried_.at(describe(defaults));
        std::vector<Evaluation *> finalists{default_evaluation};
        const std::vector<Evaluation *> ranked = leaders_by_cost();
        for (Evaluation *e : ranked) {
            if (int(finalists.size()) > leaders) break;
            if (e != default_evaluation) finalists.push_back(e);
        }
        auto worst_ratio = [](const Evaluation *e) {
            return *std::max_element(e->ratios.begin(), e->ratios.end());
        };
        Evaluation *safest = nullptr;
        for (Evaluation *e : ranked) {
            if (e != default_evaluation && !e->ratios.empty() && worst_ratio(e) < 1.0 &&
                (!safest || worst_ratio(e) < worst_ratio(safest))) {
                safest = e;
            }
        }
        if (safest && std::find(finalists.begin(), finalists.end(), safest) == finalists.end()) {
            if (int(finalists.size()) > leaders) {
                finalists.back() = safest;
            } else {
                finalists.push_back(safest);
            }
        }
        std::vector<std::shared_ptr<JitKernel>> kernels;
        for (Evaluation *e : finalists) {
            if (!e->kernel) {  // pruned earlier: compile it again
                e->kernel = compile(e->candidate);
            }
            kernels.push_back(e->kernel);
        }
        const std::shared_ptr<JitKernel> default_twin = compile(defaults);
        kernels.push_back(default_twin);
        const size_t twin = kernels.size() - 1;
        const int turns = rounds * opt_.repeats;

        Timings ms = time_in_turns(kernels, turns, "re-timing");
        const std::vector<double> twin_ratios = ratios_to_defaults(ms, twin, {0});
        report_resolution(twin_ratios);
        final_default_.clear();
        for (size_t s = 0; s < shapes_.size(); s++) {
            final_default_.push_back(median(ms[0][s]));
        }
        chosen_ = defaults;
        final_chosen_ = final_default_;
        size_t best = 0;
        double best_cost = 1.0;
        std::vector<double> best_ratios;
        for (size_t f = 1; f < finalists.size(); f++) {
            const std::vector<double> ratios = ratios_to_defaults(ms, f, {0, twin});
            const double cost = geometric_mean(ratios);
            // Every finalist's worse ratio to the two defaults is printed, so
            // a run that keeps the default shows which shape held it back.
            progress_.note("  finalist " + describe(finalists[f]->candidate) + ": " +
                           shape_ratios(ratios, true) +
                           (never_slower(ratios) ? "" : " (slower than a default on the * shape)"));
            if (never_slower(ratios) && cost < best_cost) {
                best = f, best_cost = cost, best_ratios = ratios;
            }
        }
        chosen_kernel_ = finalists[0]->kernel;
        if (best != 0) {
            // The winner again, as a fresh instance, beside both defaults.
            const std::shared_ptr<JitKernel> again = compile(finalists[best]->candidate);
            Timings confirm = time_in_turns({kernels[0], default_twin, again}, turns, "confirming");
            const std::vector<double> ratios = ratios_to_defaults(confirm, 2, {0, 1});
            const std::string label = describe(finalists[best]->candidate);
            if (never_slower(ratios)) {
                chosen_ = finalists[best]->candidate;
                chosen_kernel_ = finalists[best]->kernel;
                for (size_t s = 0; s < shapes_.size(); s++) {
                    final_chosen_[s] = std::max(best_ratios[s], ratios[s]) * final_default_[s];
                }
                progress_.note("  " + label + " confirmed by a second instance: " +
                               shape_ratios(ratios));
            } else {
                progress_.note("  " + label + " not confirmed by a second instance (" +
                               shape_ratios(ratios) + "): the default stays");
            }
        }
        for (auto &[key, e] : tried_) {
            e.kernel.reset();
        }
    }

    // The chosen candidate's compiled kernel (after final_round).
    JitKernel &chosen_kernel() { return *chosen_kernel_; }

    const Candidate &chosen() const { return chosen_; }
    const std::vector<double> &final_default() const { return final_default_; }
    const std::vector<double> &final_chosen() const { return final_chosen_; }
    // The second default instance's ratio to the first, per shape (after final_round).
    const std::vector<double> &resolution() const { return resolution_; }
    int tried() const { return int(tried_.size()); }
    int rejected() const { return rejected_; }
    std::vector<Problem> &timing_problems() { return timing_; }

private:
    // ms[kernel][shape][turn].
    using Timings = std::vector<std::vector<std::vector<double>>>;

    std::shared_ptr<JitKernel> compile(const Candidate &c) const {
        return std::make_shared<JitKernel>(kind_, config_for(kind_, c), shapes_[0], target_);
    }

    // Turns: one sample of each kernel on a shape, back to back, so each
    // turn's ratios share the machine's speed; the order rotates each turn,
    // so no kernel always follows another.
    Timings time_in_turns(const std::vector<std::shared_ptr<JitKernel>> &kernels, int turns,
                          const std::string &what) {
        std::vector<std::vector<int>> calls(kernels.size(), std::vector<int>(shapes_.size()));
        for (size_t k = 0; k < kernels.size(); k++) {
            for (size_t s = 0; s < shapes_.size(); s++) {
                calls[k][s] = calls_per_sample(*kernels[k], timing_[s]);
            }
        }
        Timings ms(kernels.size(), std::vector<std::vector<double>>(shapes_.size()));
        for (int r = 0; r < turns; r++) {
            for (size_t s = 0; s < shapes_.size(); s++) {
                for (size_t i = 0; i < kernels.size(); i++) {
                    const size_t k = (i + size_t(r)) % kernels.size();
                    ms[k][s].push_back(sample_ms(*kernels[k], timing_[s], calls[k][s]));
                }
            }
            progress_.update(kind_.key + " (" + what + ")", int(tried_.size()), rejected_,
                             best_cost_,
                             "turn " + std::to_string(r + 1) + "/" + std::to_string(turns));
        }
        return ms;
    }

    // Per shape, kernel k's median per-turn ratio to each of `baselines`,
    // the worst of them.
    std::vector<double> ratios_to_defaults(const Timings &ms, size_t k,
                                           const std::vector<size_t> &baselines) const {
        std::vector<double> out;
        for (size_t s = 0; s < shapes_.size(); s++) {
            double worst = 0;
            for (size_t b : baselines) {
                std::vector<double> ratios;
                for (size_t r = 0; r < ms[k][s].size(); r++) {
                    ratios.push_back(ms[k][s][r] / ms[b][s][r]);
                }
                worst = std::max(worst, median(ratios));
            }
            out.push_back(worst);
        }
        return out;
    }

    static bool never_slower(const std::vector<double> &ratios) {
        return *std::max_element(ratios.begin(), ratios.end()) <= 1.0;
    }

    static double geometric_mean(const std::vector<double> &ratios) {
        double log_sum = 0;
        for (double r : ratios) log_sum += std::log(r);
        return std::exp(log_sum / double(ratios.size()));
    }

    // "(a) 0.980 (d) 1.040", the worst marked "1.040*" when `mark_worst`.
    std::string shape_ratios(const std::vector<double> &ratios, bool mark_worst = false) const {
        const size_t worst = size_t(std::max_element(ratios.begin(), ratios.end()) - ratios.begin());
        std::string out;
        char buf[32];
        for (size_t s = 0; s < shapes_.size(); s++) {
            std::snprintf(buf, sizeof buf, " %.3f%s", ratios[s], mark_worst && s == worst ? "*" : "");
            out += (s ? " " : "") + short_label(shapes_[s]) + buf;
        }
        return out;
    }

    void report_resolution(const std::vector<double> &twin_ratios) {
        resolution_ = twin_ratios;
        progress_.note("  a second instance of the default measures " + shape_ratios(twin_ratios) +
                       " of the first");
    }

    // A forward over a slice of a check problem's input: windows
    // [first_window, first_window + n) alone. They must come out bit for bit
    // as in the whole problem (LPPool1dStream relies on it: it runs the
    // kernel on short blocks), whichever vector or tail path each lands on.
    struct Crop {
        size_t source;
        int64_t first_window;
        Problem problem;
    };

    void add_crops(size_t source) {
        Problem &whole = checks_[source].problem;
        const TuneShape &s = whole.shape;
        const int64_t full_windows = (s.L - s.K) / s.S + 1;
        for (auto [first, n] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {7, 17}, {16, 37},
                                {129, 300}}) {
            if (first + n > full_windows) {
                continue;
            }
            Crop c{source, first, Problem{}};
            c.problem.shape = s;
            c.problem.shape.L = (n - 1) * s.S + s.K;
            c.problem.out_length = n;
            c.problem.x = make_buffer(c.problem.shape, c.problem.shape.L);
            c.problem.y = make_buffer(c.problem.shape, n);
            for (int64_t b = 0; b < s.N; b++)
                for (int64_t ch = 0; ch < s.C; ch++)
                    for (int64_t l = 0; l < c.problem.shape.L; l++) {
                        Halide::Buffer<> &from = whole.x;
                        if (s.f64) {
                            *element<double>(c.problem.x, l, ch, b) =
                                *element<double>(from, first * s.S + l, ch, b);
                        } else {
                            *element<float>(c.problem.x, l, ch, b) =
                                *element<float>(from, first * s.S + l, ch, b);
                        }
                    }
            c.problem.x.set_host_dirty();
            crops_.push_back(std::move(c));
        }
    }

    // Runs the crops after the check problems ran; "" when all match. The
    // first call, on the default, records which crops the default gets
    // right; a kernel whose default gets any wrong is not tuned (search()).
    std::string crop_mismatch(JitKernel &k) {
        const bool first = crop_ok_for_default_.empty();
        std::string first_failure;
        for (size_t i = 0; i < crops_.size(); i++) {
            Crop &c = crops_[i];
            k.run(c.problem);
            k.finish(c.problem);
            const std::string bad = compare_crop(c);
            if (first) {
                crop_ok_for_default_.push_back(bad.empty());
                if (!bad.empty()) {
                    progress_.note("note: the default " + kind_.key + " does not hold: " + bad);
                }
            } else if (!bad.empty() && first_failure.empty()) {
                first_failure = bad;
            }
        }
        return first_failure;
    }

    std::string compare_crop(Crop &c) {
        Halide::Buffer<> &whole = checks_[c.source].problem.y;
        const TuneShape &s = c.problem.shape;
        for (int64_t b = 0; b < s.N; b++)
            for (int64_t ch = 0; ch < s.C; ch++)
                for (int64_t j = 0; j < c.problem.out_length; j++) {
                    const int64_t w = c.first_window + j;
                    const bool same = s.f64 ? *element<double>(c.problem.y, j, ch, b) ==
                                                  *element<double>(whole, w, ch, b)
                                            : *element<float>(c.problem.y, j, ch, b) ==
                                                  *element<float>(whole, w, ch, b);
                    if (!same) {
                        return "window " + std::to_string(w) + " of " + s.spec() +
                               " differs when computed from a slice of windows " +
                               std::to_string(c.first_window) + ".." +
                               std::to_string(c.first_window + c.problem.out_length - 1);
                    }
                }
        return "";
    }

    // Where a schedule's branches differ: few rows (parallel along L), many
    // rows, and a ragged shape with a partial last window; each keeps the
    // shape's K, S and p. Small enough for the long-double reference.
    static std::vector<TuneShape> check_shapes(const TuneShape &s) {
        std::vector<TuneShape> out;
        TuneShape few = s;
        few.N = 1;
        few.C = std::min<int64_t>(s.C, 3);
        few.L = std::min<int64_t>(s.L, int64_t(1) << 19);
        TuneShape many = s;
        many.L = std::min<int64_t>(s.L, std::max<int64_t>(s.K, 1500));
        if (s.channels_last) {
            many.N = 70, many.C = std::min<int64_t>(s.C, 19);
        } else {
            many.N = 2, many.C = 35;
        }
        TuneShape ragged = s;
        ragged.N = 1, ragged.C = 5;
        ragged.L = std::max<int64_t>(s.K + 37, std::min<int64_t>(s.L, 1037));
        return {few, many, ragged};
    }

    // Shape s's rows that run in parallel, by the rule the kernels branch on
    // (lppool::independent_rows), applied to its timing problem's output.
    int64_t independent_rows(size_t s) const {
        const Halide::Expr rows = lppool::independent_rows(kind_.layout, timing_[s].result());
        return *Halide::Internal::as_const_int(rows);
    }

    // False when `to` compiles to the same code as `from` for every shape
    // of this kernel: min_parallel_rows values that put each shape on the
    // same side (rows >= it: parallel over rows, else tasks along L), and
    // any long_chunk_outputs when no shape takes the tasks-along-L branch.
    // Such a candidate could only win on noise (the last run moved case
    // (g)'s min_parallel_rows 8 -> 32 on a 0.914x that was the chunk's), and
    // its value would reach shapes it was never timed on.
    bool changes_code(const Candidate &from, const Candidate &to) const {
        if (opt_.device != Device::cpu) {
            return true;
        }
        const std::string rows_knob = lppool::knob::min_parallel_rows.name;
        const std::string long_knob = lppool::knob::long_chunk_outputs.name;
        auto few_rows = [&](const Candidate &c, size_t s) {
            return independent_rows(s) < knob_value(c, lppool::knob::min_parallel_rows);
        };
        bool same_branches = true, any_few = false;
        for (size_t s = 0; s < shapes_.size(); s++) {
            same_branches = same_branches && few_rows(from, s) == few_rows(to, s);
            any_few = any_few || few_rows(to, s);
        }
        // A forward without staged powers has no chunk buffer to place.
        const std::string stack_knob = lppool::knob::scratch_on_stack.name;
        const bool chunk_buffers =
            kind_.backward || knob_value(to, lppool::knob::stage_powers) != 0;
        for (const auto &[name, value] : to) {
            if (value == from.at(name)) continue;
            if (name == rows_knob   ? !same_branches
                : name == long_knob ? any_few
                : name == stack_knob ? chunk_buffers
                                     : true) {
                return true;
            }
        }
        return false;
    }

    // Compiles `batch` (in parallel), then checks and times each candidate.
    std::vector<const Evaluation *> evaluate_batch(const std::vector<Candidate> &batch) {
        const Clock::time_point start = Clock::now();
        std::vector<Evaluation> evals(batch.size());
        const size_t threads =
            std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), 8));
        std::atomic<size_t> next{0};
        auto compile_some = [&] {
            for (size_t i; (i = next++) < batch.size();) {
                Evaluation &e = evals[i];
                e.candidate = batch[i];
                if (!serves_all(kind_, e.candidate, shapes_, opt_.device)) {
                    e.why = "its tile cannot stage these shapes in shared memory";
                    continue;
                }
                try {
                    e.kernel = compile(e.candidate);
                } catch (const std::exception &ex) {
                    e.why = std::string("failed to compile: ") + ex.what();
                }
            }
        };
        std::vector<std::thread> pool;
        for (size_t t = 1; t < std::min(threads, batch.size()); t++) {
            pool.emplace_back(compile_some);
        }
        compile_some();
        for (std::thread &t : pool) {
            t.join();
        }
        std::vector<const Evaluation *> out;
        for (Evaluation &e : evals) {
            if (e.kernel) {
                measure(e);
            }
            if (!e.ok) {
                rejected_++;
                e.kernel.reset();
            }
            const std::string key = describe(e.candidate);
            std::string last = key + " -> ";
            if (e.ok) {
                last += ratio_summary(e);
            } else {
                last += "rejected (" + e.why.substr(0, 160) + ")";
            }
            out.push_back(&tried_.emplace(key, std::move(e)).first->second);
            progress_.update(kind_.key, int(tried_.size()), rejected_, best_cost_, last);
        }
        keep_leading_kernels(3);
        // What one more candidate costs, for fitting batches to the budget.
        seconds_per_candidate_ = seconds_since(start) / double(batch.size());
        return out;
    }

    // "0.981x", or with several shapes the score and each shape's ratio,
    // worst marked: "1.070x [(a) 0.970 (f) 1.070* (j) 1.010]", so a log shows
    // which shape holds a candidate back.
    std::string ratio_summary(const Evaluation &e) const {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3fx", e.cost);
        if (shapes_.size() < 2 || e.ratios.empty()) {
            return buf;
        }
        return std::string(buf) + " [" + shape_ratios(e.ratios, true) + "]";
    }

    // Checks the candidate's results against the reference, then times it.
    void measure(Evaluation &e) {
        try {
            for (ReferenceProblem &r : checks_) {
                e.kernel->run(r.problem);
                e.kernel->finish(r.problem);
                const std::string bad = mismatch(r.problem, r);
                if (!bad.empty()) {
                    e.why = "wrong result on " + r.problem.shape.spec() + " " + bad;
                    return;
                }
            }
            e.why = crop_mismatch(*e.kernel);
            if (!e.why.empty()) {
                return;
            }
            for (size_t s = 0; s < shapes_.size(); s++) {
                if (!default_kernel_) {  // the default itself, first
                    e.medians.push_back(median_ms(*e.kernel, timing_[s], opt_.repeats));
                    continue;
                }
                const double give_up = 2.0 * best_medians_[s] / default_medians_[s];
                e.medians.push_back(
                    ratio_against(*e.kernel, *default_kernel_, timing_[s], opt_.repeats, give_up) *
                    default_medians_[s]);
            }
        } catch (const std::exception &ex) {
            e.why = std::string("failed to run: ") + ex.what();
            return;
        }
        e.ok = true;
        if (!default_kernel_) {
            default_kernel_ = e.kernel;
            default_medians_ = e.medians;
            best_medians_ = e.medians;
        }
        std::vector<double> &ratios = e.ratios;
        for (size_t s = 0; s < shapes_.size(); s++) {
            ratios.push_back(e.medians[s] / default_medians_[s]);
        }
        const double worst = *std::max_element(ratios.begin(), ratios.end());
        // A candidate clearly slower than the default on one of the kernel's
        // shapes cannot pass the final round's rule (no slower on any shape),
        // so it scores that worst ratio (> 1: never better than the default)
        // and the search does not walk towards it: a faster geometric mean
        // bought with one slower shape is no use. kSearchSlack allows for
        // timing noise here; the final round applies the rule without it.
        e.cost = worst <= kSearchSlack ? geometric_mean(ratios) : worst;
        if (e.cost < best_cost_) {
            best_cost_ = e.cost;
            best_medians_ = e.medians;
        }
    }

    std::vector<Evaluation *> leaders_by_cost() {
        std::vector<Evaluation *> ok;
        for (auto &[key, e] : tried_) {
            if (e.ok) ok.push_back(&e);
        }
        std::sort(ok.begin(), ok.end(),
                  [](const Evaluation *a, const Evaluation *b) { return a->cost < b->cost; });
        return ok;
    }

    // Compiled kernels take memory: keep the default's and the leaders'.
    void keep_leading_kernels(size_t leaders) {
        const std::string default_key = describe(default_candidate(knobs_));
        std::vector<Evaluation *> ranked = leaders_by_cost();
        for (size_t i = leaders; i < ranked.size(); i++) {
            if (describe(ranked[i]->candidate) != default_key) {
                ranked[i]->kernel.reset();
            }
        }
    }

    KernelKind kind_;
    std::vector<TuneShape> shapes_;
    const Options &opt_;
    Halide::Target target_;
    Progress &progress_;
    std::vector<KnobSpec> knobs_;
    std::mt19937 rng_;
    std::vector<Problem> timing_;
    std::vector<ReferenceProblem> checks_;
    std::vector<Crop> crops_;
    std::vector<bool> crop_ok_for_default_;  // per crop, after the default ran
    std::map<std::string, Evaluation> tried_;
    std::shared_ptr<JitKernel> default_kernel_;  // each candidate is timed in turns with it
    std::vector<double> default_medians_, best_medians_;  // candidates': ratio x default's
    double best_cost_ = 1.0;
    double seconds_per_candidate_ = 1.0;
    int rejected_ = 0;
    Candidate chosen_;
    std::shared_ptr<JitKernel> chosen_kernel_;
    std::vector<double> final_default_, final_chosen_, resolution_;
};

// ---------------------------------------------------------------------------
// Halide's autoschedulers on the same algorithm, for the final table.

std::string plugin_path(const std::string &name) {
    for (const std::string &entry : split(LPPOOL_AUTOSCHEDULER_PLUGINS, ',')) {
        const size_t eq = entry.find('=');
        if (eq != std::string::npos && entry.substr(0, eq) == name) {
            return entry.substr(eq + 1);
        }
    }
    return "";
}

// The autoscheduled kernel's median time on the shape, or why there is none.
// Its result must match `ours` (our checked kernel's, on the same problem).
std::string run_peer(const std::string &name, const KernelKind &kind, Problem &timing,
                     const Halide::Buffer<> &ours, const Options &opt,
                     const Halide::Target &target) {
    static std::set<std::string> loaded;
    const std::string path = plugin_path(name);
    if (path.empty()) {
        return "not installed";
    }
    try {
        if (!loaded.count(name)) {
            Halide::load_plugin(path);
            loaded.insert(name);
        }
        KernelConfig config;
        // Rows peers on dense rows are told L is dense (as in bench/), so they
        // may vectorize along it.
        const bool dense_rows = kind.layout == Layout::Rows && !timing.shape.channels_last;
        config.layout = dense_rows ? Layout::Contiguous : kind.layout;
        config.autoscheduled = true;
        JitKernel k(kind, config, timing.shape, target, name);
        k.run(timing);
        const std::string bad = differs(timing, ours);
        if (!bad.empty()) {
            return "wrong result: " + bad;
        }
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", median_ms(k, timing, opt.repeats));
        return buf;
    } catch (const std::exception &e) {
        std::string what = e.what();
        std::replace(what.begin(), what.end(), '\n', ' ');
        std::replace(what.begin(), what.end(), '|', '/');
        // Halide's internal errors: the failed condition says it all.
        const size_t condition = what.find("Condition failed: ");
        if (condition != std::string::npos) {
            return "aborts (internal error: " + what.substr(condition + 18, 60) + ")";
        }
        return "fails: " + what.substr(0, 120);
    }
}

// ---------------------------------------------------------------------------
// Output.

std::string json_escape(const std::string &s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

std::string utc_now() {
    char buf[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

struct ShapeResult {
    std::string label, kernel;
    double default_ms = 0, tuned_ms = 0;
    double default_twin_ratio = 1;  // a second default instance against the first
    std::map<std::string, std::string> peers;
};

void write_json(const std::string &path, const Options &opt, const Halide::Target &target,
                const std::vector<std::unique_ptr<KernelTuner>> &tuners,
                const std::vector<ShapeResult> &results) {
    std::ostringstream j;
    j << "{\n  \"format\": \"lppool-tuned-params\",\n  \"version\": 1,\n"
      << "  \"schedule_hash\": \"" << LPPOOL_SCHEDULE_HASH << "\",\n"
      << "  \"target\": \"" << target.to_string() << "\",\n"
      << "  \"host_target\": \"" << Halide::get_host_target().to_string() << "\",\n"
      << "  \"device\": \"" << device_name(opt.device) << "\",\n"
      << "  \"date\": \"" << utc_now() << "\",\n"
      << "  \"budget_s\": " << opt.budget_s << ",\n  \"seed\": " << opt.seed << ",\n"
      << "  \"kernels\": {";
    for (size_t i = 0; i < tuners.size(); i++) {
        j << (i ? "," : "") << "\n    \"" << tuners[i]->kind().key << "\": {";
        size_t k = 0;
        for (const auto &[name, value] : tuners[i]->chosen()) {
            const bool is_bool = knob_spec(name).is_bool;
            j << (k++ ? ", " : "") << "\"" << name << "\": "
              << (is_bool ? (value ? "true" : "false") : std::to_string(value));
        }
        j << "}";
    }
    j << "\n  },\n  \"results\": [";
    for (size_t i = 0; i < results.size(); i++) {
        const ShapeResult &r = results[i];
        j << (i ? "," : "") << "\n    {\"shape\": \"" << json_escape(r.label) << "\", \"kernel\": \""
          << r.kernel << "\", \"default_ms\": " << r.default_ms << ", \"tuned_ms\": " << r.tuned_ms
          << ", \"default_twin_ratio\": " << r.default_twin_ratio;
        for (const auto &[name, v] : r.peers) {
            j << ", \"" << name << "\": \"" << json_escape(v) << "\"";
        }
        j << "}";
    }
    j << "\n  ]\n}\n";
    std::ofstream out(path);
    out << j.str();
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

void print_table(const std::vector<ShapeResult> &results, const Options &opt) {
    std::printf("\n| shape | kernel | default ms | tuned ms | tuned/default | default twin |");
    for (const std::string &p : opt.peers) std::printf(" %s ms |", p.c_str());
    std::printf("\n|---|---|---|---|---|---|");
    for (size_t i = 0; i < opt.peers.size(); i++) std::printf("---|");
    std::printf("\n");
    for (const ShapeResult &r : results) {
        std::printf("| %s | %s | %.3f | %.3f | %.3f | %.3f |", r.label.c_str(), r.kernel.c_str(),
                    r.default_ms, r.tuned_ms, r.tuned_ms / r.default_ms, r.default_twin_ratio);
        for (const std::string &p : opt.peers) std::printf(" %s |", r.peers.at(p).c_str());
        std::printf("\n");
    }
}

// ---------------------------------------------------------------------------
// Command line.

const char *kUsage =
    "usage: lppool-tune [--shape N,C,L,K,S,p,dtype,layout,pass]... [--budget SECONDS]\n"
    "                   [--seed N] [--repeats N] [--output FILE] [--device cpu|cuda|opencl]\n"
    "                   [--peers all|none|NAME[,NAME...]] [--knobs NAME[,NAME...]] [--quiet]\n"
    "Tunes the schedule knobs for the given shapes (default: the benchmark's cases)\n"
    "and writes a tuned-parameters file for -DLPPOOL_TUNED_PARAMS=FILE.\n"
    "  --shape     dtype f32|f64, layout rows|channels_last, pass forward|backward;\n"
    "              repeat for several shapes\n"
    "  --budget    search time in seconds (default 600); the final re-timing and the\n"
    "              autoscheduler peers come after it\n"
    "  --seed      search order and data (default 1)\n"
    "  --repeats   samples per measurement, median taken (default 7)\n"
    "  --output    default: schedules/tuned/<device>-<date>.json in the source tree\n"
    "  --peers     Halide autoschedulers to compare with (default all:\n"
    "              Adams2019,Mullapudi2016,Li2018)\n"
    "  --knobs     search only these knobs (comma-separated; the others keep\n"
    "              their defaults)\n";

Options parse_args(int argc, char **argv) {
    Options opt;
    auto value = [&](int &i) -> std::string {
        if (i + 1 >= argc) {
            throw std::invalid_argument(std::string(argv[i]) + " needs a value");
        }
        return argv[++i];
    };
    auto number = [](const std::string &flag, const std::string &v, double lo, double hi) {
        char *end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d >= lo && d <= hi)) {
            throw std::invalid_argument(flag + " must be a number in [" + std::to_string(lo) +
                                        ", " + std::to_string(hi) + "], not \"" + v + "\"");
        }
        return d;
    };
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "--shape") {
            opt.shapes.push_back(parse_shape(value(i)));
        } else if (a == "--budget") {
            opt.budget_s = number(a, value(i), 1, 7 * 24 * 3600);
        } else if (a == "--seed") {
            opt.seed = unsigned(number(a, value(i), 0, 4294967295.0));
        } else if (a == "--repeats") {
            opt.repeats = int(number(a, value(i), 3, 1000));
        } else if (a == "--output") {
            opt.output = value(i);
        } else if (a == "--device") {
            const std::string d = value(i);
            if (d == "cpu") opt.device = Device::cpu;
            else if (d == "cuda") opt.device = Device::cuda;
            else if (d == "opencl") opt.device = Device::opencl;
            else throw std::invalid_argument("--device must be cpu, cuda or opencl, not \"" + d + "\"");
        } else if (a == "--peers") {
            const std::string v = value(i);
            const std::vector<std::string> all{"Adams2019", "Mullapudi2016", "Li2018"};
            if (v == "all") {
                opt.peers = all;
            } else if (v == "none") {
                opt.peers.clear();
            } else {
                opt.peers = split(v, ',');
                for (const std::string &p : opt.peers) {
                    if (std::find(all.begin(), all.end(), p) == all.end()) {
                        throw std::invalid_argument("--peers: unknown autoscheduler \"" + p +
                                                    "\" (Adams2019, Mullapudi2016, Li2018)");
                    }
                }
            }
        } else if (a == "--knobs") {
            opt.only_knobs = split(value(i), ',');
            for (const std::string &name : opt.only_knobs) {
                if (!find_knob(name)) {
                    throw std::invalid_argument("--knobs: unknown knob \"" + name + "\" (" +
                                                knob_names() + ")");
                }
            }
        } else if (a == "--quiet") {
            opt.quiet = true;
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown argument \"" + a + "\"");
        }
    }
    if (opt.shapes.empty()) {
        opt.shapes = benchmark_shapes();
    }
    if (opt.output.empty()) {
        opt.output = std::string(LPPOOL_SOURCE_DIR) + "/schedules/tuned/" +
                     device_name(opt.device) + "-" + utc_now().substr(0, 10) + ".json";
    }
    return opt;
}

int tune(const Options &opt) {
    lppool::detail::set_block_source(aligned_block, free_aligned_block);
    const Halide::Target target = jit_target(opt.device);
    std::printf("lppool-tune: %zu shapes on %s, JIT target %s, budget %.0f s, seed %u\n",
                opt.shapes.size(), device_name(opt.device), target.to_string().c_str(),
                opt.budget_s, opt.seed);
    if (opt.device != Device::cpu) {
        // A one-thread kernel through the JIT, whose errors become exceptions
        // (a bare buffer copy to a missing device aborts instead).
        Halide::Func probe("device_probe");
        Halide::Var x("x"), block("block"), thread("thread");
        probe(x) = x;
        probe.gpu_tile(x, block, thread, 1);
        Halide::Buffer<int> out(1);
        std::string why;
        try {
            probe.realize(out, target);
        } catch (const std::exception &e) {
            // The runtime lists every missing entry point; the last line says why.
            why = e.what();
            while (!why.empty() && why.back() == '\n') why.pop_back();
            why = why.substr(why.find_last_of('\n') + 1);
        }
        if (!why.empty()) {
            std::fprintf(stderr, "lppool-tune: no usable %s device: %s\n", device_name(opt.device),
                         why.c_str());
            return 77;
        }
    }

    // Group shapes by the kernel that serves them, in first-seen order.
    std::vector<std::string> order;
    std::map<std::string, std::pair<KernelKind, std::vector<TuneShape>>> groups;
    for (const TuneShape &s : opt.shapes) {
        const KernelKind k = kernel_for(s, opt.device);
        if (!groups.count(k.key)) {
            order.push_back(k.key);
            groups[k.key].first = k;
        }
        groups[k.key].second.push_back(s);
    }

    Progress progress(opt.budget_s, opt.quiet);
    std::vector<std::unique_ptr<KernelTuner>> tuners;
    for (size_t i = 0; i < order.size(); i++) {
        auto &[kind, shapes] = groups[order[i]];
        tuners.push_back(std::make_unique<KernelTuner>(kind, shapes, opt, target, progress));
        const double share = progress.left() / double(order.size() - i);
        tuners.back()->search(progress.elapsed() + std::max(0.0, share));
    }
    progress.end_line();

    std::vector<ShapeResult> results;
    for (auto &t : tuners) {
        progress.note("re-timing the leaders of " + t->kind().key + " against its default");
        t->final_round(3, 3);
        for (size_t s = 0; s < t->shapes().size(); s++) {
            ShapeResult r;
            r.label = t->shapes()[s].label;
            r.kernel = t->kind().key;
            r.default_ms = t->final_default()[s];
            r.tuned_ms = t->final_chosen()[s];
            r.default_twin_ratio = t->resolution()[s];
            Problem &timing = t->timing_problems()[s];
            Halide::Buffer<> ours;
            if (!opt.peers.empty() && opt.device == Device::cpu) {
                t->chosen_kernel().run(timing);
                ours = timing.result().copy();
            }
            for (const std::string &peer : opt.peers) {
                progress.note("  " + peer + " on " + r.label);
                r.peers[peer] = opt.device == Device::cpu
                                    ? run_peer(peer, t->kind(), timing, ours, opt, target)
                                    : "CPU only";
            }
            results.push_back(r);
        }
        std::printf("%s: %s (tried %d, rejected %d)\n", t->kind().key.c_str(),
                    describe(t->chosen()).c_str(), t->tried(), t->rejected());
    }
    print_table(results, opt);

    const std::filesystem::path parent = std::filesystem::path(opt.output).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    write_json(opt.output, opt, target, tuners, results);
    std::printf("\nwrote %s (%.0f s). Build with it:\n"
                "  cmake -B build -DLPPOOL_TUNED_PARAMS=%s && cmake --build build\n",
                opt.output.c_str(), progress.elapsed(), opt.output.c_str());
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    Options opt;
    try {
        opt = parse_args(argc, argv);
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "lppool-tune: %s\n%s", e.what(), kUsage);
        return 2;
    }
    try {
        return tune(opt);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "\nlppool-tune: %s\n", e.what());
        return 1;
    }
}
