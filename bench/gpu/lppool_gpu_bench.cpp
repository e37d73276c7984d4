// GPU benchmark: our forward and backward kernels on a CUDA (or OpenCL)
// device for the CPU benchmark's cases (common/benchmark_cases.h), against the device's
// own device-to-device copy bandwidth measured in the same run.
//
// usage: lppool_gpu_bench [cuda|opencl] [--repeats N] [--scale-down F]
//
// Data lives in device memory (the zero-copy path), so transfers are not
// timed. Each timing is one kernel call followed by a device sync; min and
// median over the repetitions after one warm-up call. --scale-down divides
// N (or L when N = 1) by F, for a quick check on a slow device (PoCL).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "HalideBuffer.h"
#include "benchmark_cases.h"
#include "lppool1d.h"
#ifdef LPPOOL_WITH_CUDA
#include "HalideRuntimeCuda.h"
#endif
#ifdef LPPOOL_WITH_OPENCL
#include "HalideRuntimeOpenCL.h"
#endif

namespace {

using Halide::Runtime::Buffer;
using lppool_bench::Case;

const halide_device_interface_t *interface_for(lppool::Device device) {
#ifdef LPPOOL_WITH_CUDA
    if (device == lppool::Device::cuda) return halide_cuda_device_interface();
#endif
#ifdef LPPOOL_WITH_OPENCL
    if (device == lppool::Device::opencl) return halide_opencl_device_interface();
#endif
    return nullptr;
}

struct Timing {
    double min_ms, median_ms;
};

// Warm-up, then `repeats` timed calls, each followed by a device sync.
Timing time_calls(int repeats, const std::function<void()> &call,
                  const std::function<void()> &sync) {
    call();
    sync();
    std::vector<double> ms;
    for (int i = 0; i < repeats; i++) {
        const auto t0 = std::chrono::steady_clock::now();
        call();
        sync();
        const auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms.front(), ms[ms.size() / 2]};
}

void check(int status, const char *what) {
    if (status != 0) {
        std::fprintf(stderr, "lppool_gpu_bench: %s failed (Halide error %d)\n", what, status);
        std::exit(1);
    }
}

template <typename T>
Buffer<T> device_buffer(const Case &c, int64_t length, const halide_device_interface_t *iface,
                        std::mt19937 &rng) {
    std::vector<int> sizes = {int(length), int(c.C), int(c.N)};
    std::vector<int> order = c.channels_last ? std::vector<int>{1, 0, 2} : std::vector<int>{0, 1, 2};
    Buffer<T> b(sizes, order);
    std::uniform_real_distribution<double> dist(-2, 2);
    // The allocation is dense in its own order: fill it as flat memory
    // (Halide 14's for_each_value steps the pointer by an uninitialized
    // stride when it merges dense dimensions, pointer overflow that UBSan
    // reports: tests/test_support.h).
    T *data = b.data();
    for (size_t i = 0; i < b.number_of_elements(); i++) data[i] = T(dist(rng));
    b.set_host_dirty();  // copy_to_device copies only data marked dirty
    check(b.copy_to_device(iface), "copy to device");
    return b;
}

// Device-to-device copy bandwidth over `bytes` bytes: read + write per byte.
double copy_bandwidth_gbs(int64_t bytes, const halide_device_interface_t *iface, int repeats) {
    Buffer<float> src(int(bytes / 4)), dst(int(bytes / 4));
    src.fill(1.0f);
    check(src.copy_to_device(iface), "copy to device");
    check(dst.device_malloc(iface), "device malloc");
    const Timing t = time_calls(
        repeats,
        [&] { check(halide_buffer_copy(nullptr, src.raw_buffer(), iface, dst.raw_buffer()), "device copy"); },
        [&] { check(halide_device_sync(nullptr, dst.raw_buffer()), "device sync"); });
    return 2.0 * double(bytes) / (t.min_ms * 1e6);
}

template <typename T>
void run_case(const Case &c, lppool::Device device, const halide_device_interface_t *iface,
              int repeats, double copy_gbs) {
    std::mt19937 rng(7);
    const int64_t out = lppool_bench::output_length(c);
    Buffer<T> x = device_buffer<T>(c, c.L, iface, rng);
    Buffer<T> y = device_buffer<T>(c, out, iface, rng);
    Buffer<T> dy = device_buffer<T>(c, out, iface, rng);
    Buffer<T> dx = device_buffer<T>(c, c.L, iface, rng);
    const auto pool = lppool::LPPool1d(c.p, c.K, c.S).on(device);
    pool.forward(x, y);
    auto sync = [&] { check(halide_device_sync(nullptr, x.raw_buffer()), "device sync"); };
    const Timing t = c.backward ? time_calls(repeats, [&] { pool.backward(x, y, dy, dx); }, sync)
                                : time_calls(repeats, [&] { pool.forward(x, y); }, sync);
    const double gbs = double(lppool_bench::bytes_moved(c)) / (t.min_ms * 1e6);
    std::printf("| %-4s | %-6s | N=%lld C=%lld L=%lld K=%lld S=%lld p=%g%s | %10.4f | %10.4f | %8.1f | %6.1f%% |\n",
                c.id.c_str(), c.backward ? "bwd" : "fwd", (long long)c.N, (long long)c.C,
                (long long)c.L, (long long)c.K, (long long)c.S, c.p,
                c.channels_last ? " NLC" : (c.f64 ? " f64" : ""), t.min_ms, t.median_ms, gbs,
                100.0 * gbs / copy_gbs);
}

}  // namespace

int main(int argc, char **argv) {
    lppool::Device device = lppool::Device::cuda;
    int repeats = 10;
    int64_t scale_down = 1;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "cuda") device = lppool::Device::cuda;
        else if (a == "opencl") device = lppool::Device::opencl;
        else if (a == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
        else if (a == "--scale-down" && i + 1 < argc) scale_down = std::max(1, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: %s [cuda|opencl] [--repeats N] [--scale-down F]\n", argv[0]);
            return 2;
        }
    }
    std::string why_not;
    if (!lppool::device_available(device, &why_not)) {
        std::printf("SKIPPED: no %s device: %s\n", lppool::device_name(device), why_not.c_str());
        return 77;
    }
    const halide_device_interface_t *iface = interface_for(device);
    const int64_t copy_bytes = (int64_t(32) * 64 * 16384 * 4) / scale_down;
    const double copy_gbs = copy_bandwidth_gbs(copy_bytes, iface, repeats);
    std::printf("device: %s; device-to-device copy: %.1f GB/s (read + write, %lld MB buffers)\n",
                lppool::device_name(device), copy_gbs, (long long)(copy_bytes >> 20));
    std::printf("| case | pass   | shape | min ms | median ms | GB/s | %% of copy |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (Case c : lppool_bench::cases()) {
        if (c.half != lppool_bench::Half::none) {
            continue;  // float32 and float64 only here
        }
        if (c.N >= scale_down) {
            c.N /= scale_down;
        } else {
            c.L = std::max(c.K, c.L / scale_down);
        }
        if (c.f64) {
            run_case<double>(c, device, iface, repeats, copy_gbs);
        } else {
            run_case<float>(c, device, iface, repeats, copy_gbs);
        }
    }
    return 0;
}
