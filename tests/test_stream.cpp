// LPPool1dStream against the offline LPPool1d::forward on the concatenated
// signal: random block sizes (1 frame up to the maximum, and empty calls),
// both layouts, both dtypes, S < K, S = K, S > K, ceil_mode's flush, reset,
// and every refused call.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "lppool1d.h"
#include "lppool1d_stream.h"

using lppool::LPPool1dStream;
using lppool::StreamLayout;
using lppool::StreamStatus;

namespace {

// A C-channel signal of F frames; sample(t, c) in the stream's own layout.
template <typename T>
struct Signal {
    int64_t frames;
    int channels;
    StreamLayout layout;
    std::vector<T> data;  // interleaved: [t * C + c]; planar: [c * F + t]

    T &at(int64_t t, int c) {
        return layout == StreamLayout::interleaved ? data[size_t(t * channels + c)]
                                                   : data[size_t(c * frames + t)];
    }

    // The same samples as a Halide buffer (L, C, 1) with the same memory order.
    Halide::Runtime::Buffer<T> offline_view() {
        halide_dimension_t dims[3] = {
            {0, int32_t(frames), layout == StreamLayout::interleaved ? channels : 1},
            {0, channels, layout == StreamLayout::interleaved ? 1 : int32_t(frames)},
            {0, 1, 0}};
        return Halide::Runtime::Buffer<T>(data.data(), 3, dims);
    }

    // Frames [from, from + n) as one block in the stream's layout.
    std::vector<T> block(int64_t from, int64_t n) {
        std::vector<T> b(size_t(n * channels));
        for (int64_t t = 0; t < n; t++)
            for (int c = 0; c < channels; c++) {
                T &dst = layout == StreamLayout::interleaved ? b[size_t(t * channels + c)]
                                                             : b[size_t(c * n + t)];
                dst = at(from + t, c);
            }
        return b;
    }
};

template <typename T>
Signal<T> random_signal(int64_t frames, int channels, StreamLayout layout, std::mt19937 &rng) {
    Signal<T> s{frames, channels, layout, std::vector<T>(size_t(frames * channels))};
    std::uniform_real_distribution<double> dist(-2, 2);
    for (T &v : s.data) v = T(dist(rng));
    return s;
}

// Output windows of one call, appended per channel.
template <typename T>
void collect(const std::vector<T> &out, int64_t n, int64_t capacity, int channels,
             StreamLayout layout, std::vector<std::vector<T>> &per_channel) {
    for (int64_t j = 0; j < n; j++)
        for (int c = 0; c < channels; c++)
            per_channel[size_t(c)].push_back(layout == StreamLayout::interleaved
                                                 ? out[size_t(j * channels + c)]
                                                 : out[size_t(c * capacity + j)]);
}

// Streams `signal` in random blocks (empty calls included) and returns every
// window per channel, flush included.
template <typename T>
std::vector<std::vector<T>> stream_all(LPPool1dStream<T> &stream, Signal<T> &signal,
                                       std::mt19937 &rng) {
    std::vector<std::vector<T>> got(size_t(signal.channels));
    const int64_t capacity = stream.max_output_frames();
    std::vector<T> out(size_t(capacity * signal.channels));
    std::uniform_int_distribution<int64_t> size(0, stream.max_block_frames());
    for (int64_t t = 0; t < signal.frames;) {
        const int64_t n = std::min(size(rng), signal.frames - t);
        const std::vector<T> block = signal.block(t, n);
        const auto r = stream.process(block.data(), n, out.data(), capacity);
        REQUIRE(r.status == StreamStatus::ok);
        collect(out, r.frames_out, capacity, signal.channels, signal.layout, got);
        t += n;
    }
    const auto r = stream.flush(out.data(), capacity);
    REQUIRE(r.status == StreamStatus::ok);
    collect(out, r.frames_out, capacity, signal.channels, signal.layout, got);
    return got;
}

template <typename T>
void check_against_offline(double p, int64_t K, int64_t S, bool ceil_mode, int channels,
                           StreamLayout layout, int64_t max_block, int64_t frames,
                           std::mt19937 &rng) {
    INFO("p=" << p << " K=" << K << " S=" << S << " ceil=" << ceil_mode << " C=" << channels
              << " layout=" << (layout == StreamLayout::interleaved ? "interleaved" : "planar")
              << " max_block=" << max_block << " frames=" << frames
              << " dtype=" << (sizeof(T) == 4 ? "f32" : "f64"));
    auto signal = random_signal<T>(frames, channels, layout, rng);
    LPPool1dStream<T> stream(p, K, S, ceil_mode, channels, layout, max_block);
    const auto got = stream_all(stream, signal, rng);
    const auto want = lppool::LPPool1d(p, K, S, ceil_mode).forward(signal.offline_view());
    for (int c = 0; c < channels; c++) {
        REQUIRE(int64_t(got[size_t(c)].size()) == want.dim(0).extent());
        for (int j = 0; j < want.dim(0).extent(); j++) {
            if (!(got[size_t(c)][size_t(j)] == want(j, c, 0))) {
                FAIL("window " << j << " of channel " << c << ": streamed "
                               << got[size_t(c)][size_t(j)] << ", offline " << want(j, c, 0));
            }
        }
    }
}

}  // namespace

TEST_CASE("stream: outputs equal offline forward bit for bit", "[stream]") {
    std::mt19937 rng(2024);
    int cases = 0;
    for (double p : {2.0, 1.0, 2.5, 0.5, 7.0}) {
        for (auto [K, S] : {std::pair<int64_t, int64_t>{4, 4}, {5, 2}, {3, 7}, {16, 1}, {1, 1},
                            {100, 30}, {1024, 512}}) {
            for (bool ceil_mode : {false, true}) {
                const StreamLayout layout = cases % 2 ? StreamLayout::planar : StreamLayout::interleaved;
                const int channels = std::array<int, 3>{1, 2, 9}[size_t(cases % 3)];
                const int64_t max_block = std::array<int64_t, 3>{1, 37, 300}[size_t((cases / 3) % 3)];
                const int64_t frames = 3 * K + 200 + cases % 11;
                if (cases % 4 == 3) {
                    check_against_offline<double>(p, K, S, ceil_mode, channels, layout, max_block,
                                                  frames, rng);
                } else {
                    check_against_offline<float>(p, K, S, ceil_mode, channels, layout, max_block,
                                                 frames, rng);
                }
                cases++;
            }
        }
    }
    CHECK(cases == 70);
}

TEST_CASE("stream: a signal shorter than one window, and exactly one window", "[stream]") {
    std::mt19937 rng(5);
    for (bool ceil_mode : {false, true}) {
        for (int64_t frames : {1, 3, 4, 5, 8, 9}) {
            // ceil_mode with K=5, S=4: 3 frames give one partial window offline.
            auto signal = random_signal<float>(frames, 2, StreamLayout::interleaved, rng);
            LPPool1dStream<float> stream(2.0, 5, 4, ceil_mode, 2, StreamLayout::interleaved, 4);
            const auto got = stream_all(stream, signal, rng);
            const int64_t want_windows =
                lppool::windows_for_length(lppool::make_pool_params(2.0, 5, 4, ceil_mode), frames);
            INFO("frames=" << frames << " ceil=" << ceil_mode);
            REQUIRE(int64_t(got[0].size()) == want_windows);
            if (want_windows > 0) {
                const auto want = lppool::LPPool1d(2.0, 5, 4, ceil_mode).forward(signal.offline_view());
                for (int j = 0; j < want_windows; j++) CHECK(got[1][size_t(j)] == want(j, 1, 0));
            }
        }
    }
}

TEST_CASE("stream: reset mid-stream starts a new signal", "[stream]") {
    std::mt19937 rng(9);
    LPPool1dStream<float> stream(2.0, 6, 3, true, 2, StreamLayout::planar, 50);
    auto first = random_signal<float>(101, 2, StreamLayout::planar, rng);
    std::vector<float> out(size_t(stream.max_output_frames() * 2));
    const auto block = first.block(0, 47);
    REQUIRE(stream.process(block.data(), 47, out.data(), stream.max_output_frames()));
    stream.reset();
    auto second = random_signal<float>(233, 2, StreamLayout::planar, rng);
    const auto got = stream_all(stream, second, rng);
    const auto want = lppool::LPPool1d(2.0, 6, 3, true).forward(second.offline_view());
    REQUIRE(int64_t(got[0].size()) == want.dim(0).extent());
    for (int c = 0; c < 2; c++)
        for (int j = 0; j < want.dim(0).extent(); j++) CHECK(got[size_t(c)][size_t(j)] == want(j, c, 0));
}

TEST_CASE("stream: refused calls report a status and consume nothing", "[stream][errors]") {
    std::mt19937 rng(13);
    auto signal = random_signal<double>(64, 3, StreamLayout::interleaved, rng);
    LPPool1dStream<double> stream(3.0, 8, 2, false, 3, StreamLayout::interleaved, 16);
    CHECK(stream.max_output_frames() == 8);
    CHECK(stream.latency() == 7);
    std::vector<double> out(size_t(stream.max_output_frames() * 3));
    const auto block = signal.block(0, 16);
    CHECK(stream.process(block.data(), 17, out.data(), 8).status == StreamStatus::too_many_frames);
    CHECK(stream.process(block.data(), -1, out.data(), 8).status == StreamStatus::too_many_frames);
    CHECK(stream.process(nullptr, 16, out.data(), 8).status == StreamStatus::null_pointer);
    CHECK(stream.process(block.data(), 16, nullptr, 8).status == StreamStatus::null_pointer);
    CHECK(stream.process(block.data(), 16, out.data(), 4).status == StreamStatus::output_too_small);
    CHECK(std::string(lppool::describe(StreamStatus::output_too_small)).find("capacity") !=
          std::string::npos);
    // None of those consumed anything: the stream still matches offline.
    std::vector<std::vector<double>> got(3);
    for (int64_t t = 0; t < 64; t += 16) {
        const auto b = signal.block(t, 16);
        const auto r = stream.process(b.data(), 16, out.data(), 8);
        REQUIRE(r);
        collect(out, r.frames_out, 8, 3, StreamLayout::interleaved, got);
    }
    const auto want = lppool::LPPool1d(3.0, 8, 2).forward(signal.offline_view());
    REQUIRE(int64_t(got[0].size()) == want.dim(0).extent());
    for (int c = 0; c < 3; c++)
        for (int j = 0; j < want.dim(0).extent(); j++) CHECK(got[size_t(c)][size_t(j)] == want(j, c, 0));
}

TEST_CASE("stream: invalid parameters throw at construction", "[stream][errors]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_AS(LPPool1dStream<float>(0.0, 4, 4, false, 2, StreamLayout::interleaved, 64),
                    std::invalid_argument);
    CHECK_THROWS_AS(LPPool1dStream<float>(2.0, 0, 4, false, 2, StreamLayout::interleaved, 64),
                    std::invalid_argument);
    CHECK_THROWS_AS(LPPool1dStream<float>(2.0, 4, 0, false, 2, StreamLayout::interleaved, 64),
                    std::invalid_argument);
    CHECK_THROWS_WITH(LPPool1dStream<float>(2.0, 4, 4, false, 0, StreamLayout::interleaved, 64),
                      Contains("channels"));
    CHECK_THROWS_WITH(LPPool1dStream<float>(2.0, 4, 4, false, 2, StreamLayout::planar, 0),
                      Contains("max_block_frames"));
    CHECK_THROWS_WITH(LPPool1dStream<float>(2.0, int64_t(1) << 31, 4, false, 2,
                                            StreamLayout::planar, 64),
                      Contains("32-bit"));
}
