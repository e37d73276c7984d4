// examples/wav_envelope and examples/image_rows end to end.
//
//   test_examples <wav_envelope> <image_rows> <scratch dir>
//
// wav_envelope on the tone-burst WAV must find the burst (time and level)
// and write a PNG; image_rows on a generated PGM must write the pooled
// images with the expected sizes and values.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "wav_fixture.h"

namespace {

int fail(const std::string &why) {
    std::printf("FAILED: %s\n", why.c_str());
    return 1;
}

bool is_png(const std::string &path, int &width, int &height) {
    std::ifstream in(path, std::ios::binary);
    unsigned char h[24];
    if (!in.read(reinterpret_cast<char *>(h), 24)) return false;
    const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    for (int i = 0; i < 8; i++)
        if (h[i] != signature[i]) return false;
    width = (h[16] << 24) | (h[17] << 16) | (h[18] << 8) | h[19];
    height = (h[20] << 24) | (h[21] << 16) | (h[22] << 8) | h[23];
    return true;
}

int check_wav_envelope(const std::string &exe, const std::string &dir) {
    using namespace wav_fixture;
    const std::string wav = dir + "/envelope_burst.wav", csv = dir + "/envelope.csv",
                      png = dir + "/envelope.png";
    if (write_tone_burst(wav).empty()) return fail("cannot write " + wav);
    if (std::system((exe + " " + wav + " " + csv + " " + png).c_str()) != 0) return fail("wav_envelope failed");
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line);
    double best_db[kChannels] = {-1e9, -1e9}, best_time[kChannels] = {0, 0};
    int windows = 0;
    for (; std::getline(in, line); windows++) {
        std::stringstream fields(line);
        std::string field;
        std::getline(fields, field, ',');
        const double time = std::atof(field.c_str());
        for (int c = 0; c < kChannels; c++) {
            std::getline(fields, field, ',');
            const double db = std::atof(field.c_str());
            if (db > best_db[c]) best_db[c] = db, best_time[c] = time;
        }
    }
    const int K = 960, S = 480;  // 20 ms at 48 kHz, hop 10 ms
    if (windows != (kFrames - K) / S + 1) return fail("wrong window count " + std::to_string(windows));
    for (int c = 0; c < kChannels; c++) {
        if (best_time[c] < kBurstStart || best_time[c] + double(K) / kRate > kBurstEnd + 1e-9)
            return fail("channel " + std::to_string(c) + ": loudest window outside the burst");
        if (std::fabs(best_db[c] - burst_db(c)) > 0.05)
            return fail("channel " + std::to_string(c) + ": burst at " + std::to_string(best_db[c]) + " dB");
    }
    int w = 0, h = 0;
    if (!is_png(png, w, h) || w != 900 || h != 320) return fail("no 900x320 PNG plot at " + png);
    std::printf("wav_envelope: OK, burst at %.3f s %.2f dB / %.3f s %.2f dB; plot %s\n", best_time[0],
                best_db[0], best_time[1], best_db[1], png.c_str());
    return 0;
}

int check_image_rows(const std::string &exe, const std::string &dir) {
    // 64 x 48 image: columns alternate 0 and 200 in pairs; every row alike.
    const int width = 64, height = 48;
    const std::string pgm = dir + "/stripes.pgm", rows = dir + "/rows.png", cols = dir + "/columns.png";
    {
        std::ofstream out(pgm, std::ios::binary);
        out << "P5\n" << width << " " << height << "\n255\n";
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) out.put(char((x / 2) % 2 ? 200 : 0));
    }
    if (std::system((exe + " " + pgm + " " + rows + " " + cols + " --p 2 --k 4").c_str()) != 0)
        return fail("image_rows failed");
    int w = 0, h = 0;
    // Rows: K = S = 4 along x -> 16 x 48; columns: along y -> 64 x 12.
    if (!is_png(rows, w, h) || w != 16 || h != 48) return fail("rows image is " + std::to_string(w) + "x" + std::to_string(h));
    if (!is_png(cols, w, h) || w != 64 || h != 12) return fail("columns image is " + std::to_string(w) + "x" + std::to_string(h));
    std::printf("image_rows: OK (rows 16x48, columns 64x12)\n");
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 4) return fail("usage: test_examples <wav_envelope> <image_rows> <scratch dir>");
    if (int r = check_wav_envelope(argv[1], argv[3])) return r;
    return check_image_rows(argv[2], argv[3]);
}
