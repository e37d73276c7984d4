// wav_envelope: the RMS loudness envelope of a WAV file with LPPool1d.
//
//   wav_envelope input.wav envelope.csv envelope.png [--window-ms MS]
//
// The file's interleaved samples are used in place as a channels-last
// (1, C, L) tensor (L stride C, C stride 1): no transposing copy. p = 2
// pooling over windows of --window-ms (default 20 ms, hop half of it) gives
// sqrt(sum x^2); the RMS level is 20*log10(y / sqrt(K)) dB. Writes a CSV
// (time, dB per channel) and a PNG plot of the envelope, and prints each
// channel's loudest window.
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lppool1d.h"
#include "png_writer.h"

namespace {

void plot(const std::string &path, const std::vector<std::vector<double>> &db) {
    const int width = 900, height = 320, margin = 20;
    std::vector<uint8_t> rgb(size_t(width * height * 3), 255);
    const uint8_t colors[3][3] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}};
    auto pixel = [&](int x, int y, const uint8_t *c) {
        if (x < 0 || y < 0 || x >= width || y >= height) return;
        std::copy(c, c + 3, rgb.begin() + (size_t(y) * width + x) * 3);
    };
    const uint8_t grey[3] = {200, 200, 200};
    for (int level = 0; level <= 6; level++) {  // gridlines every 10 dB, 0 to -60
        const int y = margin + level * (height - 2 * margin) / 6;
        for (int x = margin; x < width - margin; x++) pixel(x, y, grey);
    }
    const size_t n = db.empty() ? 0 : db[0].size();
    for (size_t ch = 0; ch < db.size(); ch++) {
        int last_x = -1, last_y = -1;
        for (size_t j = 0; j < n; j++) {
            const int x = margin + int(double(j) / std::max<size_t>(1, n - 1) * (width - 2 * margin - 1));
            const double clamped = std::clamp(db[ch][j], -60.0, 0.0);
            const int y = margin + int(-clamped / 60.0 * (height - 2 * margin));
            if (last_x >= 0) {
                const int steps = std::max(std::abs(x - last_x), std::abs(y - last_y)) + 1;
                for (int s = 0; s <= steps; s++)
                    pixel(last_x + (x - last_x) * s / steps, last_y + (y - last_y) * s / steps, colors[ch % 3]);
            }
            last_x = x, last_y = y;
        }
    }
    if (!png::write(path, width, height, 3, rgb)) {
        std::fprintf(stderr, "wav_envelope: cannot write %s\n", path.c_str());
        std::exit(1);
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s input.wav envelope.csv envelope.png [--window-ms MS]\n", argv[0]);
        return 2;
    }
    double window_ms = 20;
    if (argc >= 6 && std::string(argv[4]) == "--window-ms") window_ms = std::atof(argv[5]);
    SF_INFO info{};
    SNDFILE *file = sf_open(argv[1], SFM_READ, &info);
    if (file == nullptr) {
        std::fprintf(stderr, "wav_envelope: cannot open %s: %s\n", argv[1], sf_strerror(nullptr));
        return 1;
    }
    const int C = info.channels;
    const int64_t L = info.frames;
    std::vector<float> samples(size_t(L * C));
    sf_readf_float(file, samples.data(), L);
    sf_close(file);

    const int64_t K = std::max<int64_t>(1, std::llround(window_ms * info.samplerate / 1000.0));
    const int64_t S = std::max<int64_t>(1, K / 2);
    lppool::LPPool1d pool(2.0, K, S);
    // The interleaved samples as (L, C, 1), channels-last, in place.
    halide_dimension_t dims[3] = {{0, int32_t(L), C}, {0, C, 1}, {0, 1, 0}};
    Halide::Runtime::Buffer<const float> x(samples.data(), 3, dims);
    const auto y = pool.forward(x);

    std::vector<std::vector<double>> db(size_t(C), std::vector<double>(size_t(y.dim(0).extent())));
    FILE *csv = std::fopen(argv[2], "w");
    if (csv == nullptr) {
        std::fprintf(stderr, "wav_envelope: cannot write %s\n", argv[2]);
        return 1;
    }
    std::fprintf(csv, "time_s");
    for (int c = 0; c < C; c++) std::fprintf(csv, ",db_ch%d", c);
    std::fprintf(csv, "\n");
    for (int j = 0; j < y.dim(0).extent(); j++) {
        std::fprintf(csv, "%.6f", double(j * S) / info.samplerate);
        for (int c = 0; c < C; c++) {
            db[size_t(c)][size_t(j)] = 20 * std::log10(std::max(double(y(j, c, 0)) / std::sqrt(double(K)), 1e-10));
            std::fprintf(csv, ",%.3f", db[size_t(c)][size_t(j)]);
        }
        std::fprintf(csv, "\n");
    }
    std::fclose(csv);
    plot(argv[3], db);
    std::printf("wav_envelope: %lld frames x %d channels at %d Hz, %lld windows (K=%lld, S=%lld)\n",
                (long long)L, C, info.samplerate, (long long)y.dim(0).extent(), (long long)K, (long long)S);
    for (int c = 0; c < C; c++) {
        const auto &d = db[size_t(c)];
        const size_t loudest = size_t(std::max_element(d.begin(), d.end()) - d.begin());
        std::printf("  channel %d: loudest window at %.3f s, %.2f dB RMS\n", c,
                    double(int64_t(loudest) * S) / info.samplerate, d[loudest]);
    }
    std::printf("  csv: %s  plot: %s\n", argv[2], argv[3]);
    return 0;
}
