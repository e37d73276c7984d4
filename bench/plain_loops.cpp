// The hand-written peers of plain_loops.h. Rows (L dense) vectorize across
// outputs, channels-last (C dense) across channels; other strides take the
// rows loops with strided loads.
#include "plain_loops.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace plain_loops {
namespace {

template <typename T>
T &at(View<T> v, int64_t i, int64_t c, int64_t n) {
    return v.data[i * v.stride[0] + c * v.stride[1] + n * v.stride[2]];
}

// C dense and wide enough to fill a vector; fewer channels (stereo) take
// the rows loops, strided, as ours do.
template <typename T>
bool channels_last(View<T> v) {
    return v.stride[1] == 1 && v.stride[0] != 1 && v.extent[1] >= 8;
}

// Rows are split into blocks of outputs so that one long signal still runs
// on every thread.
constexpr int64_t kBlockOutputs = 4096;

// |x|^p and its root, with p = 1 and p = 2 written out as a user would.
enum class Power { one, two, general };

Power power_of(double p) { return p == 1 ? Power::one : p == 2 ? Power::two : Power::general; }

template <Power P, typename T>
inline T term(T v, T p) {
    if constexpr (P == Power::one) {
        return std::abs(v);
    } else if constexpr (P == Power::two) {
        return v * v;
    } else {
        return std::pow(std::abs(v), p);
    }
}

template <Power P, typename T>
inline T root(T s, T inv_p) {
    if constexpr (P == Power::one) {
        return s;
    } else if constexpr (P == Power::two) {
        return std::sqrt(s);
    } else {
        return std::pow(s, inv_p);
    }
}

// KC: K as a compile-time constant (0: the run-time K), as a user who knows
// their window writes it.
template <Power P, int KC, typename T>
void forward_as(View<const T> x, View<T> y, T p, int64_t run_time_K, int64_t S) {
    const int64_t K = KC > 0 ? KC : run_time_K;
    const T inv_p = T(1) / p;
    const int64_t out = y.extent[0], C = y.extent[1], N = y.extent[2];
    if (channels_last(x) && channels_last(y)) {
#pragma omp parallel for collapse(2)
        for (int64_t n = 0; n < N; n++) {
            for (int64_t j = 0; j < out; j++) {
                const T *in = &at(x, j * S, 0, n);
                T *o = &at(y, j, 0, n);
#pragma omp simd
                for (int64_t c = 0; c < C; c++) {
                    T s = 0;
                    for (int64_t k = 0; k < K; k++) {
                        s += term<P>(in[k * x.stride[0] + c], p);
                    }
                    o[c] = root<P>(s, inv_p);
                }
            }
        }
        return;
    }
    const int64_t blocks = (out + kBlockOutputs - 1) / kBlockOutputs;
#pragma omp parallel for collapse(2)
    for (int64_t row = 0; row < N * C; row++) {
        for (int64_t b = 0; b < blocks; b++) {
            const T *in = &at(x, 0, row % C, row / C);
            T *o = &at(y, 0, row % C, row / C);
            const int64_t xs = x.stride[0], ys = y.stride[0];
            const int64_t end = std::min(out, (b + 1) * kBlockOutputs);
#pragma omp simd
            for (int64_t j = b * kBlockOutputs; j < end; j++) {
                T s = 0;
                for (int64_t k = 0; k < K; k++) {
                    s += term<P>(in[(j * S + k) * xs], p);
                }
                o[j * ys] = root<P>(s, inv_p);
            }
        }
    }
}

// d/dx of the window's norm for one element, times dy: (|x| / y)^(p - 1)
// sign(x) dy, zero where y is.
template <Power P, typename T>
inline T gradient(T v, T y, T scale, T p) {
    if constexpr (P == Power::one) {
        return v > 0 ? scale : v < 0 ? -scale : T(0);
    } else if constexpr (P == Power::two) {
        return v * scale;  // scale = dy / y
    } else {
        const T r = std::pow(std::abs(v) / y, p - 1) * scale;  // scale = dy
        return v < 0 ? -r : r;
    }
}

template <Power P, typename T>
inline T window_scale(T y, T dy) {
    if constexpr (P == Power::two) {
        return y > 0 ? dy / y : T(0);
    } else {
        return y > 0 ? dy : T(0);
    }
}

template <Power P, int KC, typename T>
void backward_as(View<const T> x, View<const T> y, View<const T> dy, View<T> dx, T p,
                 int64_t run_time_K, int64_t S) {
    const int64_t K = KC > 0 ? KC : run_time_K;
    const int64_t L = dx.extent[0], out = y.extent[0], C = dx.extent[1], N = dx.extent[2];
    if (channels_last(x) && channels_last(dx)) {
#pragma omp parallel for
        for (int64_t n = 0; n < N; n++) {
            for (int64_t i = 0; i < L; i++) {
                T *o = &at(dx, i, 0, n);
#pragma omp simd
                for (int64_t c = 0; c < C; c++) o[c] = 0;
            }
            for (int64_t j = 0; j < out; j++) {
                for (int64_t k = 0; k < K; k++) {
                    const T *in = &at(x, j * S + k, 0, n);
                    const T *yj = &at(y, j, 0, n), *dyj = &at(dy, j, 0, n);
                    T *o = &at(dx, j * S + k, 0, n);
#pragma omp simd
                    for (int64_t c = 0; c < C; c++) {
                        o[c] += gradient<P>(in[c], yj[c], window_scale<P>(yj[c], dyj[c]), p);
                    }
                }
            }
        }
        return;
    }
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++) {
        for (int64_t c = 0; c < C; c++) {
            const T *in = &at(x, 0, c, n), *yr = &at(y, 0, c, n), *dyr = &at(dy, 0, c, n);
            T *o = &at(dx, 0, c, n);
            const int64_t xs = x.stride[0], ys = y.stride[0], dys = dy.stride[0], os = dx.stride[0];
            if (!(K == S && out * S == L)) {  // else every element is written below
#pragma omp simd
                for (int64_t i = 0; i < L; i++) o[i * os] = 0;
            }
            if (K <= S) {
                // Each element in at most one window: the windows vectorize.
#pragma omp simd
                for (int64_t j = 0; j < out; j++) {
                    const T yj = yr[j * ys], scale = window_scale<P>(yj, dyr[j * dys]);
                    for (int64_t k = 0; k < K; k++) {
                        o[(j * S + k) * os] = gradient<P>(in[(j * S + k) * xs], yj, scale, p);
                    }
                }
            } else {
                for (int64_t j = 0; j < out; j++) {
                    const T yj = yr[j * ys], scale = window_scale<P>(yj, dyr[j * dys]);
#pragma omp simd
                    for (int64_t k = 0; k < K; k++) {
                        o[(j * S + k) * os] += gradient<P>(in[(j * S + k) * xs], yj, scale, p);
                    }
                }
            }
        }
    }
}

// The common window sizes with K fixed at compile time, the rest at run time.
template <Power P, typename F>
void with_window(int64_t K, F &&run) {
    switch (K) {
    case 2: return run(std::integral_constant<int, 2>{});
    case 3: return run(std::integral_constant<int, 3>{});
    case 4: return run(std::integral_constant<int, 4>{});
    case 8: return run(std::integral_constant<int, 8>{});
    case 16: return run(std::integral_constant<int, 16>{});
    default: return run(std::integral_constant<int, 0>{});
    }
}

template <typename F>
void with_power(double p, F &&run) {
    switch (power_of(p)) {
    case Power::one: return run(std::integral_constant<Power, Power::one>{});
    case Power::two: return run(std::integral_constant<Power, Power::two>{});
    case Power::general: return run(std::integral_constant<Power, Power::general>{});
    }
}

}  // namespace

template <typename T>
void forward(View<const T> x, View<T> y, double p, int64_t K, int64_t S, int threads) {
    omp_set_num_threads(threads);
    with_power(p, [&](auto power) {
        with_window<power.value>(K, [&](auto window) {
            forward_as<power.value, window.value>(x, y, T(p), K, S);
        });
    });
}

template <typename T>
void backward(View<const T> x, View<const T> y, View<const T> dy, View<T> dx, double p, int64_t K,
              int64_t S, int threads) {
    omp_set_num_threads(threads);
    with_power(p, [&](auto power) {
        with_window<power.value>(K, [&](auto window) {
            backward_as<power.value, window.value>(x, y, dy, dx, T(p), K, S);
        });
    });
}

// The forward's loops with one element per window and nothing but |x| on it.
template <typename T>
void deinterleave(View<const T> x, View<T> y, int64_t S, int threads) {
    omp_set_num_threads(threads);
    forward_as<Power::one, 1>(x, y, T(1), 1, S);
}

template <int SC, typename T>
void scatter_as(View<const T> x, View<const T> dy, View<T> dx, int64_t run_time_S) {
    const int64_t S = SC > 0 ? SC : run_time_S;
    const int64_t L = dx.extent[0], out = dy.extent[0], C = dx.extent[1], N = dx.extent[2];
#pragma omp parallel for collapse(2)
    for (int64_t n = 0; n < N; n++) {
        for (int64_t c = 0; c < C; c++) {
            const T *in = &at(x, 0, c, n), *g = &at(dy, 0, c, n);
            T *o = &at(dx, 0, c, n);
            const int64_t xs = x.stride[0], gs = dy.stride[0], os = dx.stride[0];
            const int64_t whole = std::min(out, L / S);
#pragma omp simd
            for (int64_t j = 0; j < whole; j++) {
                for (int64_t k = 0; k < S; k++) {
                    o[(j * S + k) * os] = in[(j * S + k) * xs] * g[j * gs];
                }
            }
            for (int64_t i = whole * S; i < L; i++) {
                o[i * os] = in[i * xs] * g[(out - 1) * gs];
            }
        }
    }
}

template <typename T>
void scatter(View<const T> x, View<const T> dy, View<T> dx, int64_t S, int threads) {
    omp_set_num_threads(threads);
    with_window<Power::one>(S, [&](auto stride) { scatter_as<stride.value>(x, dy, dx, S); });
}

#define PLAIN_LOOPS_INSTANTIATE(T)                                                                 \
    template void forward<T>(View<const T>, View<T>, double, int64_t, int64_t, int);             \
    template void backward<T>(View<const T>, View<const T>, View<const T>, View<T>, double,      \
                              int64_t, int64_t, int);                                            \
    template void deinterleave<T>(View<const T>, View<T>, int64_t, int);                         \
    template void scatter<T>(View<const T>, View<const T>, View<T>, int64_t, int);
PLAIN_LOOPS_INSTANTIATE(float)
PLAIN_LOOPS_INSTANTIATE(double)

}  // namespace plain_loops
