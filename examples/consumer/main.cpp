// Links the installed C++ wrapper (LPPool::lppool): the seed example, a
// DLPack tensor, and a stream, from outside the source tree.
#include <cmath>
#include <cstdio>
#include <vector>

#include "lppool1d.h"
#include "lppool1d_stream.h"

int main() {
    // p=2, K=4 on ones(1, 8, 16) gives shape (1, 8, 4), every value 2.
    lppool::LPPool1d pool(2.0, 4);
    Halide::Runtime::Buffer<float> x(16, 8, 1);
    x.fill(1.0f);
    auto y = pool.forward(x);
    if (y.dim(0).extent() != 4 || y.dim(1).extent() != 8 || std::fabs(y(0, 0, 0) - 2.0f) > 1e-6f) {
        std::printf("FAILED: seed example\n");
        return 1;
    }

    // A DLPack tensor (as PyTorch or NumPy would hand it over), (C, L) = (8, 16).
    std::vector<float> in(8 * 16, 1.0f), out(8 * 4, 0.0f);
    int64_t in_shape[2] = {8, 16}, out_shape[2] = {8, 4};
    DLTensor tx{in.data(), {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, in_shape, nullptr, 0};
    DLTensor ty{out.data(), {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, out_shape, nullptr, 0};
    pool.forward(tx, ty);
    for (float v : out) {
        if (std::fabs(v - 2.0f) > 1e-6f) {
            std::printf("FAILED: DLPack forward\n");
            return 1;
        }
    }

    // A stream fed one frame at a time emits one window per 4 frames.
    lppool::LPPool1dStream<float> stream(2.0, 4, 4, false, 1, lppool::StreamLayout::interleaved, 1);
    float frame = 1.0f, window = 0.0f;
    int64_t windows = 0;
    for (int t = 0; t < 16; t++) windows += stream.process(&frame, 1, &window, 1).frames_out;
    if (windows != 4 || std::fabs(window - 2.0f) > 1e-6f) {
        std::printf("FAILED: stream\n");
        return 1;
    }
    std::printf("consumer: OK (%s)\n", pool.extra_repr().c_str());
    return 0;
}
