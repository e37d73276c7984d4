// Reads a contiguous float32 (N, C, L) tensor from stdin, pools it with
// LPPool1d and writes the float32 result to stdout. Used by test_vs_torch.py
// to compare with PyTorch without any Python binding.
//
//   pool_tool P K S CEIL N C L < x.f32 > y.f32
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "lppool1d.h"

int main(int argc, char **argv) {
    if (argc != 8) {
        std::cerr << "usage: pool_tool P K S CEIL N C L < x.f32 > y.f32\n";
        return 2;
    }
    const double p = std::atof(argv[1]);
    const int64_t K = std::atoll(argv[2]), S = std::atoll(argv[3]);
    const bool ceil_mode = std::atoi(argv[4]) != 0;
    const int64_t N = std::atoll(argv[5]), C = std::atoll(argv[6]), L = std::atoll(argv[7]);
    try {
        lppool::LPPool1d pool(p, K, S, ceil_mode);
        std::vector<float> x(size_t(N * C * L));
        if (std::fread(x.data(), sizeof(float), x.size(), stdin) != x.size()) {
            std::cerr << "pool_tool: short read\n";
            return 2;
        }
        const int64_t out_len = pool.output_length(L);
        std::vector<float> y(size_t(N * C * out_len));
        pool.forward(lppool::contiguous_view<const float>(x.data(), {N, C, L}),
                     lppool::contiguous_view(y.data(), {N, C, out_len}));
        std::fwrite(y.data(), sizeof(float), y.size(), stdout);
    } catch (const std::exception &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
    return 0;
}
