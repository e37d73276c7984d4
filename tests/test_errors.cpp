// Every invalid argument throws std::invalid_argument naming the problem,
// and nothing is written. These never reach a kernel.
#include <catch2/catch.hpp>

#include <limits>

#include "test_support.h"

using Catch::Matchers::Contains;

// Catch2 v2 matches messages and types separately; the call runs twice.
#define CHECK_INVALID(expr, matcher)                     \
    do {                                                 \
        CHECK_THROWS_AS(expr, std::invalid_argument);    \
        CHECK_THROWS_WITH(expr, matcher);                \
    } while (0)
using test::Layout;

TEST_CASE("constructor rejects bad hyper-parameters with their values", "[errors]") {
    const double inf = std::numeric_limits<double>::infinity();
    CHECK_INVALID(lppool::LPPool1d(0.0, 2), Contains("norm_type") && Contains("0"));
    CHECK_INVALID(lppool::LPPool1d(-1.5, 2), Contains("norm_type") && Contains("-1.5"));
    CHECK_INVALID(lppool::LPPool1d(inf, 2), Contains("norm_type") && Contains("inf"));
    CHECK_INVALID(lppool::LPPool1d(std::nan(""), 2), Contains("norm_type") && Contains("nan"));
    CHECK_INVALID(lppool::LPPool1d(2.0, 0), Contains("kernel_size") && Contains("0"));
    CHECK_INVALID(lppool::LPPool1d(2.0, -3), Contains("kernel_size") && Contains("-3"));
    CHECK_INVALID(lppool::LPPool1d(2.0, 2, 0), Contains("stride") && Contains("0"));
    CHECK_INVALID(lppool::LPPool1d(2.0, 2, -7), Contains("stride") && Contains("-7"));
    CHECK_NOTHROW(lppool::LPPool1d(1e-3, 1, 1));
}

TEST_CASE("output_length rejects inputs too short for one window", "[errors]") {
    CHECK_INVALID(lppool::LPPool1d(2.0, 8).output_length(7), Contains("too short") && Contains("7"));
    // ceil_mode: L = 1, K = 8, S = 1 leaves no window starting inside.
    CHECK_INVALID(lppool::LPPool1d(2.0, 8, 1, true).output_length(1), Contains("too short"));
    CHECK_THROWS_AS(lppool::LPPool1d(2.0, 1).output_length(0), std::invalid_argument);
}

namespace {

// Runs `call`, requires std::invalid_argument containing `needle`, and
// requires every buffer's storage to be unchanged.
template <typename Call, typename... Tensors>
void require_rejected(const char *needle, Call call, Tensors &...tensors) {
    auto before = std::make_tuple(tensors.storage...);
    CHECK_INVALID(call(), Contains(needle));
    CHECK(before == std::make_tuple(tensors.storage...));
}

}  // namespace

TEST_CASE("forward rejects bad tensors and writes nothing", "[errors]") {
    lppool::LPPool1d pool(2.0, 4);
    std::mt19937 rng(1);
    auto x = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 16);
    test::fill_random(x, rng);

    SECTION("output of the wrong length") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 5);
        require_rejected("y has shape (2, 3, 5)", [&] { pool.forward(x.buffer, y.buffer); }, x, y);
    }
    SECTION("output with the wrong channels or batch") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 4, 4);
        require_rejected("pooled shape", [&] { pool.forward(x.buffer, y.buffer); }, x, y);
        auto y2 = test::make_tensor<float>(Layout::NCL, 3, 1, 3, 4);
        require_rejected("pooled shape", [&] { pool.forward(x.buffer, y2.buffer); }, x, y2);
    }
    SECTION("output of a different rank") {
        auto y = test::make_tensor<float>(Layout::NCL, 2, 1, 3, 4);
        require_rejected("pooled shape", [&] { pool.forward(x.buffer, y.buffer); }, x, y);
    }
    SECTION("input too short") {
        auto short_x = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 3);
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 1);
        require_rejected("too short", [&] { pool.forward(short_x.buffer, y.buffer); }, short_x, y);
    }
    SECTION("null pointers") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 4);
        lppool::TensorView<const float> null_x{nullptr, 3, {2, 3, 16}, {48, 16, 1}};
        require_rejected("x has a null data pointer", [&] { pool.forward(null_x, y.view()); }, y);
        lppool::TensorView<float> null_y{nullptr, 3, {2, 3, 4}, {12, 4, 1}};
        require_rejected("y has a null data pointer", [&] { pool.forward(x.view(), null_y); }, x);
    }
    SECTION("empty dimensions") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 4);
        for (int d = 0; d < 3; d++) {
            auto v = x.view();
            v.sizes[d] = 0;
            require_rejected("empty", [&] { pool.forward(v, y.view()); }, x, y);
        }
        halide_buffer_t raw = *x.buffer.raw_buffer();
        halide_dimension_t dims[3] = {raw.dim[0], raw.dim[1], raw.dim[2]};
        dims[1].extent = 0;
        raw.dim = dims;
        require_rejected("empty dimension", [&] { pool.forward_raw(raw, *y.buffer.raw_buffer()); }, x, y);
    }
    SECTION("ranks other than 2 and 3") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 4);
        auto v = x.view();
        v.rank = 1;
        require_rejected("rank", [&] { pool.forward(v, y.view()); }, x, y);
        v.rank = 4;
        require_rejected("rank", [&] { pool.forward(v, y.view()); }, x, y);
        Halide::Runtime::Buffer<float> x4(16, 3, 2, 2), y4(4, 3, 2, 2);
        CHECK_INVALID(pool.forward(x4, y4), Contains("rank 4"));
        Halide::Runtime::Buffer<float> x1(16);
        CHECK_INVALID(pool.forward(x1), Contains("rank 1"));
    }
    SECTION("unsupported and mismatched dtypes") {
        Halide::Runtime::Buffer<int32_t> xi(16, 3, 2), yi(4, 3, 2);
        test::fill(xi, 7);
        test::fill(yi, 9);
        CHECK_INVALID(pool.forward_raw(*xi.raw_buffer(), *yi.raw_buffer()), Contains("int32"));
        CHECK_THROWS_AS(pool.forward_raw(*xi.raw_buffer(), *yi.raw_buffer()), lppool::unsupported_dtype);
        Halide::Runtime::Buffer<uint16_t> xh(16, 3, 2), yh(4, 3, 2);
        CHECK_INVALID(pool.forward_raw(*xh.raw_buffer(), *yh.raw_buffer()), Contains("uint16"));
        CHECK(yi.all_equal(9));
        auto yd = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 4);
        require_rejected("float64 but x has float32", [&] { pool.forward(x.buffer, yd.buffer); }, x, yd);
        CHECK_THROWS_AS(pool.forward(x.buffer, yd.buffer), lppool::unsupported_dtype);
    }
    SECTION("sizes and strides beyond 32 bits, offsets beyond 64 bits") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 4);
        auto v = x.view();
        v.strides[0] = int64_t(1) << 33;  // a stride must fit halide_dimension_t's int32
        require_rejected("32-bit", [&] { pool.forward(v, y.view()); }, x, y);
        v = x.view();  // each size and stride fits, but the farthest offset overflows 64 bits
        v.sizes = {INT32_MAX, INT32_MAX, INT32_MAX};
        v.strides = {INT32_MAX, INT32_MAX, INT32_MAX};
        require_rejected("overflow 64-bit", [&] { pool.forward(v, y.view()); }, x, y);
    }
    SECTION("a non-zero min") {
        auto y = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 4);
        Halide::Runtime::Buffer<float> shifted = x.buffer;
        shifted.translate(0, 1);
        require_rejected("index 0", [&] { pool.forward(shifted, y.buffer); }, x, y);
    }
}

TEST_CASE("backward rejects bad tensors and writes nothing", "[errors]") {
    lppool::LPPool1d pool(2.0, 4, 2);
    std::mt19937 rng(2);
    auto x = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 16);
    test::fill_random(x, rng);
    auto y = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 7);
    pool.forward(x.buffer, y.buffer);
    auto dy = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 7);
    test::fill_random(dy, rng);
    auto dx = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 16);

    SECTION("y of the wrong shape") {
        auto bad_y = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 8);
        require_rejected("y has shape",
                         [&] { pool.backward(x.buffer, bad_y.buffer, dy.buffer, dx.buffer); }, x, bad_y, dy, dx);
    }
    SECTION("grad_y of the wrong shape") {
        auto bad_dy = test::make_tensor<double>(Layout::NCL, 3, 2, 2, 7);
        require_rejected("grad_y has shape",
                         [&] { pool.backward(x.buffer, y.buffer, bad_dy.buffer, dx.buffer); }, x, y, bad_dy, dx);
    }
    SECTION("grad_x of the wrong shape") {
        auto bad_dx = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 15);
        require_rejected("grad_x has shape",
                         [&] { pool.backward(x.buffer, y.buffer, dy.buffer, bad_dx.buffer); }, x, y, dy, bad_dx);
    }
    SECTION("mixed dtypes") {
        auto dx32 = test::make_tensor<float>(Layout::NCL, 3, 2, 3, 16);
        require_rejected("grad_x has dtype float32",
                         [&] { pool.backward(x.buffer, y.buffer, dy.buffer, dx32.buffer); }, x, y, dy, dx32);
        CHECK_THROWS_AS(pool.backward(x.buffer, y.buffer, dy.buffer, dx32.buffer), lppool::unsupported_dtype);
    }
    SECTION("null grad_y") {
        lppool::TensorView<const double> null_dy{nullptr, 3, {2, 3, 7}, {21, 7, 1}};
        require_rejected("grad_y has a null data pointer",
                         [&] { pool.backward(x.view(), y.view(), null_dy, dx.view()); }, x, y, dx);
    }
    SECTION("returning overload validates before allocating") {
        auto bad_dy = test::make_tensor<double>(Layout::NCL, 3, 2, 3, 6);
        require_rejected("grad_y", [&] { pool.backward(x.buffer, y.buffer, bad_dy.buffer); }, x, y, bad_dy);
    }
}

TEST_CASE("set_num_threads rejects negative counts", "[errors]") {
    CHECK_INVALID(lppool::set_num_threads(-1), Contains("-1"));
}

TEST_CASE("a GPU that cannot run gives a clear exception, never a crash", "[errors][device]") {
    for (lppool::Device device : {lppool::Device::cuda, lppool::Device::opencl}) {
        std::string why_not;
        if (lppool::device_available(device, &why_not)) {
            continue;  // this machine has one; the GPU suites test it
        }
        INFO(lppool::device_name(device) << ": " << why_not);
        CHECK_FALSE(why_not.empty());
        CHECK_THROWS_AS(lppool::LPPool1d(2.0, 4).on(device), std::runtime_error);
        CHECK_THROWS_WITH(lppool::LPPool1d(2.0, 4).on(device),
                          Contains(lppool::device_name(device)) && Contains("cannot run"));
    }
    CHECK(lppool::device_available(lppool::Device::cpu));
    CHECK(lppool::LPPool1d(2.0, 4).on(lppool::Device::cpu).device() == lppool::Device::cpu);
}

TEST_CASE("a CPU pool rejects memory that is only on a device", "[errors][device]") {
    lppool::LPPool1d pool(2.0, 4);
    auto x = test::make_tensor<float>(Layout::NCL, 3, 1, 2, 16);
    auto y = test::make_tensor<float>(Layout::NCL, 3, 1, 2, 4);
    halide_buffer_t device_only = *x.buffer.raw_buffer();
    device_only.host = nullptr;
    device_only.device = 0x1000;  // never dereferenced: rejected first
    CHECK_INVALID(pool.forward_raw(device_only, *y.buffer.raw_buffer()),
                  Contains("x") && Contains("no host memory"));
    CHECK_INVALID(pool.forward_device(x.view(), y.view()), Contains("need a pool on a GPU"));
    for (float v : y.storage) {
        CHECK(v == test::sentinel<float>());
    }
}

TEST_CASE("outputs that alias themselves or an input are rejected", "[errors]") {
    lppool::LPPool1d pool(2.0, 4);
    std::vector<float> storage(64, 1.0f);
    // y with a zero channel stride: both channels would write the same memory.
    Halide::Runtime::Buffer<float> x(storage.data(), 16, 2);
    std::vector<float> out(16, -1.0f);
    halide_dimension_t aliased[2] = {{0, 4, 1}, {0, 2, 0}};
    Halide::Runtime::Buffer<float> y_aliased(out.data(), 2, aliased);
    CHECK_INVALID(pool.forward(x, y_aliased), Contains("y") && Contains("overlapping strides"));
    // y inside x's memory: in place would read overwritten input.
    Halide::Runtime::Buffer<float> y_inside(storage.data() + 8, 4, 2);
    CHECK_INVALID(pool.forward(x, y_inside), Contains("overlaps x"));
    for (float v : out) CHECK(v == -1.0f);
    for (float v : storage) CHECK(v == 1.0f);
    // Backward: grad_x must not alias grad_y.
    Halide::Runtime::Buffer<float> y(4, 2), dy(4, 2);
    pool.forward(x, y);
    test::fill(dy, 1.0f);
    std::vector<float> big(256, 0.0f);
    Halide::Runtime::Buffer<float> dy_big(big.data(), 4, 2), dx_over(big.data() + 4, 16, 2);
    CHECK_INVALID(pool.backward(x, y, dy_big, dx_over), Contains("grad_x overlaps grad_y"));
}
