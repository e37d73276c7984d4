// A stereo test WAV with a known tone burst, shared by the audio examples'
// tests: 2 s at 48 kHz of faint noise with a 1 kHz burst in [0.8 s, 1.2 s),
// amplitude 0.5 on channel 0 and 0.25 on channel 1, stored as float samples
// (so the file holds exactly what an offline reference reads).
#pragma once

#include <sndfile.h>

#include <cmath>
#include <string>
#include <vector>

namespace wav_fixture {

constexpr int kRate = 48000, kChannels = 2, kFrames = 2 * kRate;
constexpr double kBurstStart = 0.8, kBurstEnd = 1.2;
constexpr double kAmplitude[kChannels] = {0.5, 0.25};

// The burst's RMS level in dB: a sine of amplitude a has RMS a / sqrt(2).
inline double burst_db(int channel) { return 20 * std::log10(kAmplitude[channel] / std::sqrt(2.0)); }

// Writes the file; returns its interleaved samples (empty on failure).
inline std::vector<float> write_tone_burst(const std::string &path) {
    std::vector<float> samples(size_t(kFrames * kChannels));
    unsigned noise = 12345;
    for (int t = 0; t < kFrames; t++) {
        const double time = double(t) / kRate;
        for (int c = 0; c < kChannels; c++) {
            noise = noise * 1103515245u + 12345u;
            double v = 1e-3 * (double((noise >> 8) & 0xffff) / 32768.0 - 1.0);
            if (time >= kBurstStart && time < kBurstEnd) v += kAmplitude[c] * std::sin(2 * M_PI * 1000 * time);
            samples[size_t(t * kChannels + c)] = float(v);
        }
    }
    SF_INFO info{};
    info.samplerate = kRate;
    info.channels = kChannels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *out = sf_open(path.c_str(), SFM_WRITE, &info);
    if (out == nullptr) return {};
    sf_writef_float(out, samples.data(), kFrames);
    sf_close(out);
    return samples;
}

}  // namespace wav_fixture
