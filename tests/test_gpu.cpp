// The GPU schedule's correctness suite, built once per GPU API: test_cuda
// (run on a CUDA device) and test_opencl (run in CI on PoCL, a CPU OpenCL
// driver, which proves the same GPU schedule without a GPU). Each runs the
// CPU suites' full grid on its device, through host buffers (copied in and
// out) and through device memory (zero-copy).
//
// Without a usable device the executable exits with 77, which ctest reports
// as skipped, after printing why; with LPPOOL_REQUIRE_OPENCL_TESTS=1 (or
// LPPOOL_REQUIRE_CUDA_TESTS=1) in the environment a missing device fails
// instead: scripts/test.sh requires OpenCL, which it installs (PoCL).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <random>

#include "grid_checks.h"
#ifdef LPPOOL_TEST_CUDA
#include "HalideRuntimeCuda.h"
#else
#include "HalideRuntimeOpenCL.h"
#endif

using test::Layout;

namespace {

#ifdef LPPOOL_TEST_CUDA
constexpr lppool::Device kDevice = lppool::Device::cuda;
const halide_device_interface_t *interface() { return halide_cuda_device_interface(); }
uint64_t raw_handle(halide_buffer_t *b) { return halide_cuda_get_device_ptr(nullptr, b); }
#else
constexpr lppool::Device kDevice = lppool::Device::opencl;
const halide_device_interface_t *interface() { return halide_opencl_device_interface(); }
uint64_t raw_handle(halide_buffer_t *b) { return halide_opencl_get_cl_mem(nullptr, b); }
#endif

// A dense NCL tensor with a device copy of its contents.
template <typename T>
struct DeviceTensor {
    Halide::Runtime::Buffer<T> host;

    DeviceTensor(int64_t N, int64_t C, int64_t L) : host(int(L), int(C), int(N)) {
        REQUIRE(host.device_malloc(interface()) == 0);
    }
    void upload() {
        host.set_host_dirty();
        REQUIRE(host.copy_to_device(interface()) == 0);
    }
    void download() {
        host.set_device_dirty();
        REQUIRE(host.copy_to_host() == 0);
    }
    lppool::TensorView<T> device_view() {
        lppool::TensorView<T> v;
        v.data = reinterpret_cast<T *>(raw_handle(host.raw_buffer()));
        v.rank = 3;
        v.sizes = {host.dim(2).extent(), host.dim(1).extent(), host.dim(0).extent()};
        v.strides = {host.dim(2).stride(), host.dim(1).stride(), host.dim(0).stride()};
        return v;
    }
    reference::Tensor to_reference() const {
        reference::Tensor r(host.dim(2).extent(), host.dim(1).extent(), host.dim(0).extent());
        for (int n = 0; n < host.dim(2).extent(); n++)
            for (int c = 0; c < host.dim(1).extent(); c++)
                for (int l = 0; l < host.dim(0).extent(); l++) r.at(n, c, l) = host(l, c, n);
        return r;
    }
};

template <typename T>
void fill(DeviceTensor<T> &t, std::mt19937 &rng, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    test::for_each_value(t.host, [&](T &v) { v = T(dist(rng)); });
}

template <typename T>
void require_close(const DeviceTensor<T> &got, const reference::Tensor &want, double rel,
                   const reference::Tensor *scale = nullptr) {
    for (int n = 0; n < got.host.dim(2).extent(); n++)
        for (int c = 0; c < got.host.dim(1).extent(); c++)
            for (int l = 0; l < got.host.dim(0).extent(); l++) {
                const reference::real w = want.at(n, c, l);
                const reference::real s = scale ? scale->at(n, c, l) : std::fabs(w);
                if (!test::close(got.host(l, c, n), w, rel, std::max<reference::real>(s, 1e-30))) {
                    FAIL("element (n=" << n << ", c=" << c << ", l=" << l << "): got "
                                       << double(got.host(l, c, n)) << ", want " << double(w));
                }
            }
}

// Forward then backward entirely in device memory, through the device-handle
// entry points (views) or halide_buffer_t with device allocations.
template <typename T>
void check_device_memory_case(double p, int64_t K, int64_t S, bool ceil_mode, int64_t L,
                              bool use_handles, std::mt19937 &rng) {
    INFO("p=" << p << " K=" << K << " S=" << S << " ceil=" << ceil_mode << " L=" << L
              << " handles=" << use_handles << " dtype=" << (sizeof(T) == 4 ? "f32" : "f64"));
    const int64_t N = 2, C = 5;
    const auto pool = lppool::LPPool1d(p, K, S, ceil_mode).on(kDevice);
    const int64_t out_len = pool.output_length(L);
    DeviceTensor<T> x(N, C, L), y(N, C, out_len), dy(N, C, out_len), dx(N, C, L);
    fill(x, rng, -2, 2);
    fill(dy, rng, -1, 1);
    x.upload();
    dy.upload();
    if (use_handles) {
        pool.forward_device(x.device_view(), y.device_view());
        pool.backward_device(x.device_view(), y.device_view(), dy.device_view(), dx.device_view());
    } else {
        // Host copies are stale on purpose: a device allocation means device data.
        test::fill(x.host, T(0));
        x.host.set_host_dirty(false);
        dy.host.set_host_dirty(false);
        pool.forward(x.host, y.host);
        pool.backward(x.host, y.host, dy.host, dx.host);
    }
    x.download();
    y.download();
    dx.download();
    require_close(y, reference::forward(x.to_reference(), p, K, S, ceil_mode),
                  test::forward_tolerance<T>());
    auto want = reference::backward(x.to_reference(), y.to_reference(), dy.to_reference(), p, K, S);
    require_close(dx, want.grad_x, test::backward_tolerance<T>(p), &want.magnitude);
}

}  // namespace

TEST_CASE("GPU: seed examples", "[gpu][seed]") {
    const auto pool = lppool::LPPool1d(2.0, 4).on(kDevice);
    Halide::Runtime::Buffer<float> x(16, 8, 1);
    test::fill(x, 1.0f);
    auto y = pool.forward(x);
    REQUIRE(y.dim(0).extent() == 4);
    REQUIRE(y.dim(1).extent() == 8);
    test::for_each_value(y, [](float v) { CHECK(v == Approx(2.0f).epsilon(1e-6)); });

    const auto pool1 = lppool::LPPool1d(1.0, 3, 1).on(kDevice);
    Halide::Runtime::Buffer<float> x1(12, 4, 2);
    x1.for_each_element([&](int l, int c, int n) { x1(l, c, n) = float(l - 2 * c + n) / 3; });
    auto y1 = pool1.forward(x1);
    REQUIRE(y1.dim(0).extent() == 10);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 10; j++) {
                float want = std::fabs(x1(j, c, n)) + std::fabs(x1(j + 1, c, n)) + std::fabs(x1(j + 2, c, n));
                CHECK(y1(j, c, n) == Approx(want).epsilon(1e-6));
            }
}

TEST_CASE("GPU: forward matches the float64 reference over the grid", "[gpu][grid]") {
    std::mt19937 rng(1234);
    CHECK(test::check_forward_grid(kDevice, rng) == test::kGridCases);
}

TEST_CASE("GPU: backward matches the float64 reference over the grid", "[gpu][grid]") {
    std::mt19937 rng(4321);
    CHECK(test::check_backward_grid(kDevice, rng) == test::kGridCases);
}

TEST_CASE("GPU: float16 and bfloat16 match the float64 reference over the grid",
          "[gpu][grid][half]") {
    std::mt19937 rng(5678);
    CHECK(test::check_half_forward_grid(kDevice, rng) == test::kGridCases);
    CHECK(test::check_half_backward_grid(kDevice, rng) == test::kGridCases);
}

TEST_CASE("GPU: windows too wide to stage take the unstaged kernel", "[gpu]") {
    std::mt19937 rng(64);
    int cases = 0;
    for (double p : {1.0, 2.0, 2.5, 200.0}) {
        for (auto [K, S] : {std::pair<int64_t, int64_t>{1024, 512}, {200, 300}, {2100, 16}, {70, 70}}) {
            const Layout layout = Layout(cases % 3);
            if (cases % 2) {
                test::check_forward_case<float>(layout, 3, p, K, S, true, 3 * K + 7, rng, false, kDevice);
            } else {
                test::check_forward_case<double>(layout, 2, p, K, S, false, 3 * K + 7, rng, true, kDevice);
            }
            cases++;
        }
    }
}

TEST_CASE("GPU: many channels take the channels-last kernels", "[gpu]") {
    std::mt19937 rng(8);
    for (double p : {1.0, 2.0, 3.0, 2.5}) {
        for (auto [K, S] : {std::pair<int64_t, int64_t>{4, 4}, {16, 1}, {5, 7}}) {
            const auto pool = lppool::LPPool1d(p, K, S, true).on(kDevice);
            auto x = test::make_tensor<float>(Layout::NLC, 3, 3, 40, 301);
            test::fill_random(x, rng);
            auto y = test::make_tensor<float>(Layout::NLC, 3, 3, 40, pool.output_length(301));
            auto dy = test::make_tensor<float>(Layout::NLC, 3, 3, 40, pool.output_length(301));
            test::fill_random(dy, rng, -1, 1);
            auto dx = test::make_tensor<float>(Layout::NLC, 3, 3, 40, 301);
            pool.forward(x.buffer, y.buffer);
            pool.backward(x.buffer, y.buffer, dy.buffer, dx.buffer);
            INFO("p=" << p << " K=" << K << " S=" << S);
            test::require_matches(y, reference::forward(x.to_reference(), p, K, S, true), 1e-5);
            auto want = reference::backward(x.to_reference(), y.to_reference(), dy.to_reference(), p, K, S);
            test::require_matches(dx, want.grad_x, test::backward_tolerance<float>(p), &want.magnitude);
        }
    }
}

TEST_CASE("GPU: data already in device memory stays there (zero-copy)", "[gpu][device-memory]") {
    std::mt19937 rng(11);
    for (bool handles : {true, false}) {
        for (double p : {2.0, 2.5, 0.5}) {
            check_device_memory_case<float>(p, 4, 4, false, 1000, handles, rng);
            check_device_memory_case<double>(p, 7, 3, true, 333, handles, rng);
        }
    }
}

TEST_CASE("GPU: bad device handles are rejected before any kernel runs", "[gpu][errors]") {
    const auto pool = lppool::LPPool1d(2.0, 4).on(kDevice);
    DeviceTensor<float> y(1, 2, 4);
    lppool::TensorView<float> null_x = y.device_view();
    null_x.data = nullptr;
    null_x.sizes = {1, 2, 16};
    CHECK_THROWS_AS(pool.forward_device(null_x, y.device_view()), std::invalid_argument);
    // The wrong output length is caught by the shape checks, as on the host.
    DeviceTensor<float> x(1, 2, 16), wrong(1, 2, 5);
    CHECK_THROWS_AS(pool.forward_device(x.device_view(), wrong.device_view()), std::invalid_argument);
    // Device handles need a GPU pool.
    CHECK_THROWS_AS(lppool::LPPool1d(2.0, 4).forward_device(x.device_view(), y.device_view()),
                    std::invalid_argument);
}

int main(int argc, char **argv) {
    std::string why_not;
    if (!lppool::device_available(kDevice, &why_not)) {
#ifdef LPPOOL_TEST_CUDA
        const char *require = std::getenv("LPPOOL_REQUIRE_CUDA_TESTS");
#else
        const char *require = std::getenv("LPPOOL_REQUIRE_OPENCL_TESTS");
#endif
        const bool required = require != nullptr && std::string(require) == "1";
        std::cout << (required ? "FAILED: " : "SKIPPED: ") << lppool::device_name(kDevice)
                  << " tests need a " << lppool::device_name(kDevice)
                  << " device: " << why_not << "\n";
        return required ? 1 : 77;
    }
    return Catch::Session().run(argc, argv);
}
