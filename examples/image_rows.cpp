// image_rows: Lp-pools a greyscale image along its rows and along its
// columns with LPPool1d: rows are a dense (C = height, L = width) tensor;
// columns are the same memory viewed as (C = width, L = height) with L
// stride = width and C stride = 1, so no transposed copy is made.
//
//   image_rows input.pgm rows.png columns.png [--p P] [--k K]
//
// Reads binary PGM (P5, 8-bit); writes PNGs scaled back to 0..255 as the
// power mean (y / K^(1/p)), which keeps a flat region's brightness.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "lppool1d.h"
#include "png_writer.h"

namespace {

bool read_pgm(const std::string &path, int &width, int &height, std::vector<float> &pixels) {
    std::ifstream in(path, std::ios::binary);
    std::string magic;
    int maxval = 0;
    in >> magic >> width >> height >> maxval;
    in.get();
    if (!in || magic != "P5" || maxval != 255 || width < 1 || height < 1) return false;
    std::vector<unsigned char> bytes(size_t(width) * size_t(height));
    in.read(reinterpret_cast<char *>(bytes.data()), std::streamsize(bytes.size()));
    pixels.assign(bytes.begin(), bytes.end());
    return bool(in);
}

void write_png(const std::string &path, const Halide::Runtime::Buffer<float> &pooled, bool transposed,
               double scale) {
    // pooled(l, c): rows -> (x = l, y = c); columns -> (x = c, y = l).
    const int w = transposed ? pooled.dim(1).extent() : pooled.dim(0).extent();
    const int h = transposed ? pooled.dim(0).extent() : pooled.dim(1).extent();
    std::vector<uint8_t> grey(size_t(w) * size_t(h));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float v = transposed ? pooled(y, x) : pooled(x, y);
            grey[size_t(y) * w + x] = uint8_t(std::lround(std::fmin(255.0, std::fmax(0.0, v / scale))));
        }
    if (!png::write(path, w, h, 1, grey)) {
        std::fprintf(stderr, "image_rows: cannot write %s\n", path.c_str());
        std::exit(1);
    }
    std::printf("  %s: %d x %d\n", path.c_str(), w, h);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s input.pgm rows.png columns.png [--p P] [--k K]\n", argv[0]);
        return 2;
    }
    double p = 2;
    int64_t K = 4;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--p") p = std::atof(argv[i + 1]);
        if (std::string(argv[i]) == "--k") K = std::atoll(argv[i + 1]);
    }
    int width = 0, height = 0;
    std::vector<float> pixels;
    if (!read_pgm(argv[1], width, height, pixels)) {
        std::fprintf(stderr, "image_rows: %s is not an 8-bit binary PGM\n", argv[1]);
        return 1;
    }
    lppool::LPPool1d pool(p, K);
    const double scale = std::pow(double(K), 1.0 / p);
    // Along rows: (L = width, C = height), dense.
    Halide::Runtime::Buffer<const float> rows(pixels.data(), width, height);
    // Along columns: (L = height, C = width), L stride width, C stride 1.
    halide_dimension_t column_dims[2] = {{0, height, width}, {0, width, 1}};
    Halide::Runtime::Buffer<const float> columns(pixels.data(), 2, column_dims);
    std::printf("image_rows: %d x %d, p = %g, K = S = %lld\n", width, height, p, (long long)K);
    write_png(argv[2], pool.forward(rows), false, scale);
    write_png(argv[3], pool.forward(columns), true, scale);
    return 0;
}
