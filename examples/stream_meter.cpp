// stream_meter: a live level meter over a WAV file, read block by block as
// an audio callback receives it, through LPPool1dStream.
//
//   stream_meter input.wav envelope.csv [--block FRAMES] [--window-ms MS] [--quiet]
//
// Each window of --window-ms (default 20 ms, hop half of it) gives, per
// channel, the L2 pool y = sqrt(sum x^2) and the RMS level in dB,
// 20 * log10(y / sqrt(K)). The terminal shows a meter per channel, updated
// in place; the CSV gets one line per window: start time, then y and dB per
// channel (y printed with 9 significant digits: it round-trips exactly).
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lppool1d_stream.h"

namespace {

struct Options {
    std::string input, output;
    int64_t block = 128;
    double window_ms = 20;
    bool quiet = false;
};

Options parse(int argc, char **argv) {
    Options o;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "--block" && i + 1 < argc) {
            o.block = std::atoll(argv[++i]);
        } else if (a == "--window-ms" && i + 1 < argc) {
            o.window_ms = std::atof(argv[++i]);
        } else if (a == "--quiet") {
            o.quiet = true;
        } else {
            positional.push_back(a);
        }
    }
    if (positional.size() != 2 || o.block < 1 || !(o.window_ms > 0)) {
        std::fprintf(stderr,
                     "usage: %s input.wav envelope.csv [--block FRAMES] [--window-ms MS] [--quiet]\n",
                     argv[0]);
        std::exit(2);
    }
    o.input = positional[0];
    o.output = positional[1];
    return o;
}

double decibels(double y, int64_t K) {
    return 20.0 * std::log10(std::max(y / std::sqrt(double(K)), 1e-10));
}

// One line: a bar per channel from -60 dB to 0 dB.
void draw_meter(const float *window, int channels, int64_t K) {
    std::string line = "\r";
    for (int c = 0; c < channels; c++) {
        const double db = decibels(window[c], K);
        const int filled = int(std::clamp((db + 60.0) / 60.0, 0.0, 1.0) * 30);
        char label[32];
        std::snprintf(label, sizeof label, " %6.1f dB  ", db);
        line += "ch" + std::to_string(c) + " [" + std::string(size_t(filled), '#') +
                std::string(size_t(30 - filled), ' ') + "]" + label;
    }
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char **argv) {
    const Options o = parse(argc, argv);
    SF_INFO info{};
    SNDFILE *file = sf_open(o.input.c_str(), SFM_READ, &info);
    if (file == nullptr) {
        std::fprintf(stderr, "stream_meter: cannot open %s: %s\n", o.input.c_str(), sf_strerror(nullptr));
        return 1;
    }
    const int channels = info.channels;
    const int64_t K = std::max<int64_t>(1, std::llround(o.window_ms * info.samplerate / 1000.0));
    const int64_t S = std::max<int64_t>(1, K / 2);
    lppool::LPPool1dStream<float> stream(2.0, K, S, false, channels,
                                         lppool::StreamLayout::interleaved, o.block);
    FILE *csv = std::fopen(o.output.c_str(), "w");
    if (csv == nullptr) {
        std::fprintf(stderr, "stream_meter: cannot write %s\n", o.output.c_str());
        return 1;
    }
    std::fprintf(csv, "time_s");
    for (int c = 0; c < channels; c++) std::fprintf(csv, ",lp_ch%d,db_ch%d", c, c);
    std::fprintf(csv, "\n");

    const bool show = !o.quiet && isatty(STDOUT_FILENO);
    std::vector<float> block(size_t(o.block * channels));
    std::vector<float> out(size_t(stream.max_output_frames() * channels));
    int64_t windows = 0;
    // Exactly what an audio callback does: a block in, the completed windows out.
    for (;;) {
        const sf_count_t frames = sf_readf_float(file, block.data(), o.block);
        if (frames <= 0) break;
        const auto r = stream.process(block.data(), frames, out.data(), stream.max_output_frames());
        if (!r) {
            std::fprintf(stderr, "\nstream_meter: %s %s\n", lppool::describe(r.status), stream.last_error());
            return 1;
        }
        for (int64_t j = 0; j < r.frames_out; j++, windows++) {
            const float *w = out.data() + j * channels;
            std::fprintf(csv, "%.6f", double(windows * S) / info.samplerate);
            for (int c = 0; c < channels; c++) std::fprintf(csv, ",%.9g,%.3f", double(w[c]), decibels(w[c], K));
            std::fprintf(csv, "\n");
            if (show) draw_meter(w, channels, K);
        }
    }
    sf_close(file);
    std::fclose(csv);
    if (show) std::fputs("\n", stdout);
    std::printf("stream_meter: %lld windows of %lld frames (hop %lld) over %d channel(s), blocks of %lld frames -> %s\n",
                (long long)windows, (long long)K, (long long)S, channels, (long long)o.block,
                o.output.c_str());
    return 0;
}
