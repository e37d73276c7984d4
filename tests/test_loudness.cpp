// The fused example pipeline (examples/loudness): 20*log10(LpPool_2(x)/sqrt(K))
// in one Halide pipeline must equal the unfused computation (LPPool1d, then
// the dB conversion in C++), over shapes, strides and window sizes.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "loudness_envelope.h"
#include "test_support.h"

TEST_CASE("fused loudness envelope equals LPPool1d then dB", "[fused]") {
    std::mt19937 rng(21);
    for (test::Layout layout : {test::Layout::NCL, test::Layout::NLC, test::Layout::Strided}) {
        for (auto [K, S] : {std::pair<int64_t, int64_t>{4, 4}, {480, 240}, {16, 1}, {100, 130}}) {
            const int64_t L = 3 * K + 517;
            auto x = test::make_tensor<float>(layout, 3, 2, 3, L);
            test::fill_random(x, rng, -1, 1);
            // A silent stretch: the dB floor instead of -inf.
            for (int64_t l = 0; l < std::min<int64_t>(L, K + S); l++) x.at(0, 0, l) = 0.0f;
            lppool::LPPool1d pool(2.0, K, S);
            const int64_t out = pool.output_length(L);
            auto y = test::make_tensor<float>(layout, 3, 2, 3, out);
            pool.forward(x.buffer, y.buffer);
            auto db = test::make_tensor<float>(layout, 3, 2, 3, out);
            REQUIRE(loudness_envelope(nullptr, x.buffer.raw_buffer(), int(K), int(S), db.buffer.raw_buffer()) == 0);
            INFO(test::layout_name(layout) << " K=" << K << " S=" << S);
            for (int64_t n = 0; n < 2; n++)
                for (int64_t c = 0; c < 3; c++)
                    for (int64_t j = 0; j < out; j++) {
                        const double rms = std::max(double(y.at(n, c, j)) / std::sqrt(double(K)), 1e-10);
                        const double want = 20 * std::log10(rms);
                        REQUIRE(std::fabs(db.at(n, c, j) - want) <= 1e-4 * std::max(1.0, std::fabs(want)));
                    }
        }
    }
}
