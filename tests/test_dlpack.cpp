// LPPool1d's DLTensor entry points: compact and strided tensors, byte
// offsets, both dtypes, forward and backward, against the TensorView path;
// and every unsupported dtype, rank or device.
#include <catch2/catch.hpp>

#include <random>

#include "test_support.h"

using Catch::Matchers::Contains;
using test::Layout;

namespace {

template <typename T>
DLTensor as_dlpack(test::Tensor<T> &t, int64_t *shape, int64_t *strides, bool compact_strides_null) {
    DLTensor d{};
    d.data = t.storage.data();
    d.device = {kDLCPU, 0};
    d.ndim = t.rank;
    d.dtype = {kDLFloat, uint8_t(sizeof(T) * 8), 1};
    const auto v = t.view();
    for (int i = 0; i < t.rank; i++) {
        shape[i] = v.sizes[size_t(i)];
        strides[i] = v.strides[size_t(i)];
    }
    d.shape = shape;
    d.strides = compact_strides_null ? nullptr : strides;
    return d;
}

template <typename T>
void check_matches_views(Layout layout, int rank) {
    std::mt19937 rng(17);
    lppool::LPPool1d pool(2.5, 5, 3, true);
    auto x = test::make_tensor<T>(layout, rank, 2, 4, 61);
    test::fill_random(x, rng);
    const int64_t out = pool.output_length(61);
    auto y_view = test::make_tensor<T>(layout, rank, 2, 4, out);
    auto y_dl = test::make_tensor<T>(layout, rank, 2, 4, out);
    pool.forward(x.view(), y_view.view());
    const bool compact = layout == Layout::NCL;  // strides = NULL means compact row-major
    int64_t xs[3], xst[3], ys[3], yst[3];
    DLTensor dx = as_dlpack(x, xs, xst, compact), dy = as_dlpack(y_dl, ys, yst, compact);
    pool.forward(dx, dy);
    REQUIRE(y_dl.storage == y_view.storage);

    auto g = test::make_tensor<T>(layout, rank, 2, 4, out);
    test::fill_random(g, rng, -1, 1);
    auto dx_view = test::make_tensor<T>(layout, rank, 2, 4, 61);
    auto dx_dl = test::make_tensor<T>(layout, rank, 2, 4, 61);
    pool.backward(x.view(), y_view.view(), g.view(), dx_view.view());
    int64_t gs[3], gst[3], ds[3], dst[3];
    DLTensor dg = as_dlpack(g, gs, gst, compact), ddx = as_dlpack(dx_dl, ds, dst, compact);
    pool.backward(dx, dy, dg, ddx);
    REQUIRE(dx_dl.storage == dx_view.storage);
}

}  // namespace

TEST_CASE("DLPack tensors give the same results as views", "[dlpack]") {
    for (Layout layout : {Layout::NCL, Layout::NLC, Layout::Strided}) {
        for (int rank : {2, 3}) {
            INFO(test::layout_name(layout) << " rank " << rank);
            check_matches_views<float>(layout, rank);
            check_matches_views<double>(layout, rank);
        }
    }
}

TEST_CASE("DLPack byte_offset is honoured", "[dlpack]") {
    std::vector<float> storage(3 + 2 * 8, 1.0f), out(3 + 2 * 2, -1.0f);
    int64_t in_shape[2] = {2, 8}, out_shape[2] = {2, 2};
    DLTensor x{storage.data(), {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, in_shape, nullptr, 3 * sizeof(float)};
    DLTensor y{out.data(), {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, out_shape, nullptr, 3 * sizeof(float)};
    lppool::LPPool1d(2.0, 4).forward(x, y);
    CHECK(out[0] == -1.0f);
    CHECK(out[2] == -1.0f);
    for (int i = 3; i < 7; i++) CHECK(out[size_t(i)] == Approx(2.0f));
}

TEST_CASE("DLPack: unsupported dtypes, ranks and devices are rejected", "[dlpack][errors]") {
    std::vector<float> in(16, 1.0f), out(4, 0.0f);
    int64_t in_shape[3] = {1, 1, 16}, out_shape[3] = {1, 1, 4};
    auto make = [&](float *data, int64_t *shape) {
        return DLTensor{data, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, shape, nullptr, 0};
    };
    lppool::LPPool1d pool(2.0, 4);
    DLTensor x = make(in.data(), in_shape), y = make(out.data(), out_shape);

    DLTensor bad = x;
    bad.dtype = {kDLInt, 32, 1};
    const std::string supported = "; supported: float32, float64, float16 and bfloat16";
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("dtype int32" + supported));
    CHECK_THROWS_AS(pool.forward(bad, y), lppool::unsupported_dtype);
    CHECK_THROWS_AS(pool.output_shape(bad), lppool::unsupported_dtype);
    bad.dtype = {kDLBfloat, 32, 1};
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("dtype bfloat32" + supported));
    bad.dtype = {kDLFloat, 8, 1};
    CHECK_THROWS_AS(pool.forward(bad, y), std::invalid_argument);
    // A supported dtype that is not y's: mixed.
    bad.dtype = {kDLFloat, 16, 1};
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("y has dtype float32 but x has float16"));
    bad.dtype = {kDLFloat, 32, 4};
    CHECK_THROWS_AS(pool.forward(bad, y), std::invalid_argument);
    bad = x;
    bad.ndim = 1;
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("rank"));
    CHECK_THROWS_WITH(pool.output_shape(bad), Contains("rank"));
    bad = x;
    bad.device = {kDLOpenCL, 0};
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("device type"));
    bad = x;
    bad.device = {kDLCUDA, 0};
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("all be on the host or all on one CUDA device"));
    bad = x;
    bad.data = nullptr;
    CHECK_THROWS_WITH(pool.forward(bad, y), Contains("null"));
    if (!lppool::device_available(lppool::Device::cuda)) {
        DLTensor cx = x, cy = y;
        cx.device = cy.device = {kDLCUDA, 0};
        CHECK_THROWS_WITH(pool.forward(cx, cy), Contains("cuda") && Contains("cannot run"));
    }
    for (float v : out) CHECK(v == 0.0f);
}

TEST_CASE("DLPack: output_shape is forward's y shape, after forward's checks of x",
          "[dlpack][errors]") {
    std::vector<float> in(2 * 4 * 12, 1.0f);
    int64_t shape3[3] = {2, 4, 12}, shape2[2] = {4, 12}, short_shape[3] = {2, 4, 2};
    DLTensor x{in.data(), {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, shape3, nullptr, 0};
    CHECK(lppool::LPPool1d(1.0, 3, 1).output_shape(x) == std::vector<int64_t>{2, 4, 10});
    CHECK(lppool::LPPool1d(2.0, 4).output_shape(x) == std::vector<int64_t>{2, 4, 3});
    CHECK(lppool::LPPool1d(2.0, 5, 5, true).output_shape(x) == std::vector<int64_t>{2, 4, 3});
    DLTensor x2{in.data(), {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape2, nullptr, 0};
    CHECK(lppool::LPPool1d(2.0, 4).output_shape(x2) == std::vector<int64_t>{4, 3});
    DLTensor too_short{in.data(), {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, short_shape, nullptr, 0};
    CHECK_THROWS_WITH(lppool::LPPool1d(2.0, 4).output_shape(too_short), Contains("too short"));
    DLTensor null_data = x;
    null_data.data = nullptr;
    CHECK_THROWS_WITH(lppool::LPPool1d(2.0, 4).output_shape(null_data), Contains("null"));
}
