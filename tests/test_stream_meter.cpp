// examples/stream_meter end to end: writes a stereo WAV with a known tone
// burst, runs the meter on it (blocks of 128 frames, as an audio callback),
// and checks that its CSV envelope equals the offline LPPool1d::forward of
// the whole file, window for window and bit for bit, and that it finds the
// burst at the right time and level.
//
//   test_stream_meter <stream_meter executable> <scratch directory>
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lppool1d.h"
#include "wav_fixture.h"

namespace {

using namespace wav_fixture;

int fail(const std::string &why) {
    std::printf("FAILED: %s\n", why.c_str());
    return 1;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) return fail("usage: test_stream_meter <stream_meter> <scratch dir>");
    const std::string wav = std::string(argv[2]) + "/burst.wav";
    const std::string csv = std::string(argv[2]) + "/burst.csv";

    const std::vector<float> samples = write_tone_burst(wav);
    if (samples.empty()) return fail("cannot write " + wav);
    const int frames = kFrames;

    const std::string command = std::string(argv[1]) + " " + wav + " " + csv + " --block 128 --quiet";
    if (std::system(command.c_str()) != 0) return fail("stream_meter failed: " + command);

    // Offline: the whole file at once, interleaved (channels-last) as read.
    const int64_t K = 960, S = 480;  // the meter's default 20 ms window at 48 kHz
    halide_dimension_t dims[3] = {{0, frames, kChannels}, {0, kChannels, 1}, {0, 1, 0}};
    Halide::Runtime::Buffer<const float> x(samples.data(), 3, dims);
    const auto want = lppool::LPPool1d(2.0, K, S).forward(x);

    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);  // header
    int windows = 0, loudest = -1;
    double loudest_db = -1e9;
    for (; std::getline(in, line); windows++) {
        std::stringstream fields(line);
        std::string field;
        std::getline(fields, field, ',');
        for (int c = 0; c < kChannels; c++) {
            std::getline(fields, field, ',');
            const float y = std::strtof(field.c_str(), nullptr);
            std::getline(fields, field, ',');
            const double db = std::atof(field.c_str());
            if (windows >= want.dim(0).extent()) return fail("more windows than offline");
            if (!(y == want(windows, c, 0))) {
                return fail("window " + std::to_string(windows) + " channel " + std::to_string(c) +
                            ": streamed " + std::to_string(y) + ", offline " +
                            std::to_string(want(windows, c, 0)));
            }
            if (c == 0 && db > loudest_db) loudest_db = db, loudest = windows;
        }
    }
    if (windows != want.dim(0).extent()) {
        return fail("streamed " + std::to_string(windows) + " windows, offline " +
                    std::to_string(want.dim(0).extent()));
    }
    // The burst: a sine of amplitude a has RMS a / sqrt(2).
    const double loudest_time = double(loudest * S) / kRate;
    const double expected_db = burst_db(0);
    if (loudest_time < kBurstStart || loudest_time + double(K) / kRate > kBurstEnd + 1e-9) {
        return fail("loudest window at " + std::to_string(loudest_time) + " s, outside the burst");
    }
    if (std::fabs(loudest_db - expected_db) > 0.05) {
        return fail("burst level " + std::to_string(loudest_db) + " dB, expected " + std::to_string(expected_db));
    }
    std::printf("OK: %d windows equal offline; burst found at %.3f s, %.2f dB (expected %.2f dB)\n",
                windows, loudest_time, loudest_db, expected_db);
    return 0;
}
