// Streaming benchmark: LPPool1dStream on ten minutes of interleaved stereo
// at 48 kHz, fed block by block as an audio callback would. Prints, per
// block size and window, the mean, p99.9 and max time of one process() call
// and the real-time factor (audio duration / processing time), as a
// markdown section for bench/RESULTS.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "lppool1d_stream.h"

namespace {

struct Result {
    double mean_us, p999_us, max_us, realtime_factor;
};

Result run(int64_t block_frames, int64_t K, int64_t S) {
    constexpr int kChannels = 2;
    constexpr int64_t kRate = 48000, kSeconds = 600;
    lppool::LPPool1dStream<float> stream(2.0, K, S, false, kChannels,
                                         lppool::StreamLayout::interleaved, block_frames);
    // A minute of audio, replayed: the timing does not depend on the values.
    std::mt19937 rng(3);
    std::normal_distribution<float> noise(0.0f, 0.1f);
    std::vector<float> audio(size_t(kRate * 60 * kChannels));
    for (float &v : audio) v = noise(rng);
    std::vector<float> out(size_t(stream.max_output_frames() * kChannels));

    const int64_t blocks = kRate * kSeconds / block_frames;
    const int64_t blocks_per_minute = int64_t(audio.size()) / kChannels / block_frames;
    std::vector<double> us(static_cast<size_t>(blocks));
    double total_us = 0;
    for (int64_t b = 0; b < blocks; b++) {
        const float *block = audio.data() + (b % blocks_per_minute) * block_frames * kChannels;
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = stream.process(block, block_frames, out.data(), stream.max_output_frames());
        const auto t1 = std::chrono::steady_clock::now();
        if (!r) {
            std::fprintf(stderr, "process failed: %s\n", lppool::describe(r.status));
            std::exit(1);
        }
        us[size_t(b)] = std::chrono::duration<double, std::micro>(t1 - t0).count();
        total_us += us[size_t(b)];
    }
    std::vector<double> sorted = us;
    std::sort(sorted.begin(), sorted.end());
    const double p999 = sorted[std::min(sorted.size() - 1, size_t(double(sorted.size()) * 0.999))];
    return {total_us / double(blocks), p999, sorted.back(), double(kSeconds) * 1e6 / total_us};
}

}  // namespace

int main() {
    std::printf("\n## Streaming (LPPool1dStream, stereo interleaved float32, 48 kHz, p = 2, 10-minute stream)\n\n");
    std::printf("Time of one process() call per block; real-time factor = audio duration / total processing time. One thread (the stream runs its kernels on the calling thread).\n\n");
    std::printf("| block frames | K | S | mean us | p99.9 us | max us | real-time factor |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (auto [K, S] : {std::pair<int64_t, int64_t>{1024, 512}, {480, 240}}) {
        for (int64_t block : {32, 64, 128, 512}) {
            const Result r = run(block, K, S);
            std::printf("| %lld | %lld | %lld | %.2f | %.2f | %.1f | %.0fx |\n", (long long)block,
                        (long long)K, (long long)S, r.mean_us, r.p999_us, r.max_us,
                        r.realtime_factor);
            std::fflush(stdout);
        }
    }
    return 0;
}
