// The peers a performance-minded user writes by hand (bench/plain_loops.cpp,
// compiled with -O3 -march=native -fopenmp): LPPool1d forward and backward
// as OpenMP loops over rows with `omp simd` inner loops, p = 1 and 2
// specialized, std::pow otherwise, no overflow rescue; and a copy that moves
// the same bytes as a case without its arithmetic, the practical floor.
//
// Tensors are (L, C, N) with element strides along each; `threads` OpenMP
// threads.
#pragma once

#include <cstdint>

namespace plain_loops {

template <typename T>
struct View {
    T *data;
    int64_t extent[3];
    int64_t stride[3];
};

template <typename T>
void forward(View<const T> x, View<T> y, double p, int64_t K, int64_t S, int threads);

// dx from x, y = forward(x), dy: the gradient of the plain formula.
template <typename T>
void backward(View<const T> x, View<const T> y, View<const T> dy, View<T> dx, double p, int64_t K,
              int64_t S, int threads);

// Forward's bytes without its arithmetic: y[j] = |x[j * S]| (every element
// of x is still read, by the cache line).
template <typename T>
void deinterleave(View<const T> x, View<T> y, int64_t S, int threads);

// Backward's: dx[i] = x[i] * dy[i / S] (the last window's dy past it).
template <typename T>
void scatter(View<const T> x, View<const T> dy, View<T> dx, int64_t S, int threads);

}  // namespace plain_loops
