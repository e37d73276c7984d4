// Independent reference for LPPool1d: naive loops in extended precision
// where the hardware has it, written from the formulas in docs/semantics.md and
// sharing no code with the library.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

namespace reference {

// x86's long double is the x87 80-bit format, in hardware: 11 bits more than
// the float64 kernels, at little cost. Elsewhere long double is binary128 in
// software (aarch64) or double; binary128's powl under qemu made up most of
// CI's aarch64 stage, so there the reference is float64, which is what
// docs/semantics.md asks for and has the range of every test (max-scaled windows).
// -DLPPOOL_REFERENCE_DOUBLE selects float64 on x86 too.
#if LDBL_MANT_DIG == 64 && !defined(LPPOOL_REFERENCE_DOUBLE)
using real = long double;
#else
using real = double;
#endif

// Tensors are (N, C, L) row-major in `real`.
struct Tensor {
    int64_t N = 0, C = 0, L = 0;
    std::vector<real> v;
    Tensor() = default;
    Tensor(int64_t n, int64_t c, int64_t l) : N(n), C(c), L(l), v(size_t(n * c * l), 0) {}
    real &at(int64_t n, int64_t c, int64_t l) { return v[size_t((n * C + c) * L + l)]; }
    real at(int64_t n, int64_t c, int64_t l) const {
        return v[size_t((n * C + c) * L + l)];
    }
};

// Output length by counting windows: floor mode keeps windows that fit
// (start <= L - K); ceil mode also keeps the one partial window that covers
// the leftover elements (start < L - K + S), as long as it starts inside.
inline int64_t output_length(int64_t L, int64_t K, int64_t S, bool ceil_mode) {
    int64_t count = 0;
    for (int64_t start = 0; start < L; start += S) {
        const bool fits = start <= L - K;
        const bool covers_leftover = ceil_mode && start < L - K + S;
        if (!fits && !covers_leftover) {
            break;
        }
        count++;
    }
    return count;
}

// The p-norm of the in-bounds part of each window, scaled by its max so
// that no p overflows: m * (sum (|x|/m)^p)^(1/p).
inline Tensor forward(const Tensor &x, real p, int64_t K, int64_t S, bool ceil_mode) {
    const int64_t out_len = output_length(x.L, K, S, ceil_mode);
    Tensor y(x.N, x.C, out_len);
    for (int64_t n = 0; n < x.N; n++) {
        for (int64_t c = 0; c < x.C; c++) {
            for (int64_t j = 0; j < out_len; j++) {
                const int64_t begin = j * S, end = std::min(j * S + K, x.L);
                real m = 0;
                bool nan = false;
                for (int64_t i = begin; i < end; i++) {
                    const real a = std::fabs(x.at(n, c, i));
                    nan = nan || std::isnan(a);
                    m = std::max(m, a);
                }
                real result;
                if (nan) {
                    result = NAN;
                } else if (m == 0 || std::isinf(m)) {
                    result = m;
                } else {
                    real s = 0;
                    for (int64_t i = begin; i < end; i++) {
                        s += std::pow(std::fabs(x.at(n, c, i)) / m, p);
                    }
                    result = m * std::pow(s, 1 / p);
                }
                y.at(n, c, j) = result;
            }
        }
    }
    return y;
}

struct Gradient {
    Tensor grad_x;
    Tensor magnitude;  // sum of |terms| per element: the scale for tolerances
};

// dx[i] = sum over windows w containing i of dy[w] * sign(x) * (|x| / y[w])^(p-1),
// 0 where y[w] == 0, and 0 at x == 0 when p < 1.
inline Gradient backward(const Tensor &x, const Tensor &y, const Tensor &dy, real p,
                         int64_t K, int64_t S) {
    Gradient g{Tensor(x.N, x.C, x.L), Tensor(x.N, x.C, x.L)};
    for (int64_t n = 0; n < x.N; n++) {
        for (int64_t c = 0; c < x.C; c++) {
            for (int64_t w = 0; w < y.L; w++) {
                const real yw = y.at(n, c, w);
                if (yw == 0) {
                    continue;
                }
                for (int64_t i = w * S; i < std::min(w * S + K, x.L); i++) {
                    const real xi = x.at(n, c, i);
                    if (xi == 0) {
                        continue;  // sign(0) = 0, and the p < 1 rule
                    }
                    const real sign = xi > 0 ? 1 : -1;
                    const real term =
                        dy.at(n, c, w) * sign * std::pow(std::fabs(xi) / yw, p - 1);
                    g.grad_x.at(n, c, i) += term;
                    g.magnitude.at(n, c, i) += std::fabs(term);
                }
            }
        }
    }
    return g;
}

}  // namespace reference
