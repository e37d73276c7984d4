// Element offsets beyond 2^31 are computed correctly (Halide's large_buffers,
// 64-bit index math in the runtime). The tensors span ~12-24 GiB of address
// space in a sparse anonymous mapping (MAP_NORESERVE): only the pages holding
// the checked rows are ever touched, so this runs in CI in a few MB.
#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cmath>
#include <cstring>

#include "reference.h"
#include "lppool1d.h"

namespace {

// A sparse mapping of `bytes` bytes, unmapped at scope exit.
struct Sparse {
    void *base = MAP_FAILED;
    size_t bytes;
    explicit Sparse(size_t b) : bytes(b) {
        base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    ~Sparse() {
        if (base != MAP_FAILED) munmap(base, bytes);
    }
    float *floats() { return static_cast<float *>(base); }
};

}  // namespace

TEST_CASE("offsets beyond 2^31 elements: forward and backward", "[huge]") {
    // (N=4, C=1, L=1000) with N stride 2^30 + 7 elements: row n starts at
    // n * (2^30 + 7), the last at ~3.2e9 elements (12.9 GB into the mapping).
    const int64_t N = 4, L = 1000, K = 5, S = 3;
    const int64_t n_stride = (int64_t(1) << 30) + 7;
    const int64_t span = (N - 1) * n_stride + L;
    REQUIRE(span > (int64_t(1) << 31));
    Sparse x_map(size_t(span) * sizeof(float)), dx_map(size_t(span) * sizeof(float));
    REQUIRE(x_map.base != MAP_FAILED);
    REQUIRE(dx_map.base != MAP_FAILED);

    lppool::LPPool1d pool(2.5, K, S);
    const int64_t out = pool.output_length(L);
    reference::Tensor rx(N, 1, L);
    for (int64_t n = 0; n < N; n++)
        for (int64_t l = 0; l < L; l++) {
            const float v = float(std::sin(0.37 * double(l) + double(n))) * 2.0f;
            x_map.floats()[n * n_stride + l] = v;
            rx.at(n, 0, l) = v;
        }
    std::vector<float> y(size_t(N * out)), dy(size_t(N * out), 1.0f);
    lppool::TensorView<const float> xv{x_map.floats(), 3, {N, 1, L}, {n_stride, L, 1}};
    lppool::TensorView<float> yv{y.data(), 3, {N, 1, out}, {out, out, 1}};
    pool.forward(xv, yv);

    const auto want = reference::forward(rx, 2.5, K, S, false);
    int64_t checked = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < out; j++, checked++) {
            const double w = double(want.at(n, 0, j));
            REQUIRE(std::fabs(y[size_t(n * out + j)] - w) <= 1e-5 * std::fabs(w));
        }

    lppool::TensorView<const float> yc{y.data(), 3, {N, 1, out}, {out, out, 1}};
    lppool::TensorView<const float> dyv{dy.data(), 3, {N, 1, out}, {out, out, 1}};
    lppool::TensorView<float> dxv{dx_map.floats(), 3, {N, 1, L}, {n_stride, L, 1}};
    pool.backward(xv, yc, dyv, dxv);
    reference::Tensor ry(N, 1, out), rdy(N, 1, out);
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < out; j++) ry.at(n, 0, j) = y[size_t(n * out + j)], rdy.at(n, 0, j) = 1;
    const auto grad = reference::backward(rx, ry, rdy, 2.5, K, S);
    for (int64_t n = 0; n < N; n++)
        for (int64_t l = 0; l < L; l++) {
            const double w = double(grad.grad_x.at(n, 0, l));
            REQUIRE(std::fabs(dx_map.floats()[n * n_stride + l] - w) <=
                    1.5e-5 * std::max(1e-30, double(grad.magnitude.at(n, 0, l))));
        }
    INFO("largest element offset " << span - 1);
    CHECK(checked == N * out);
}
