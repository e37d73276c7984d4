// libFuzzer harness for the public LPPool1d API.
//
// Bytes decode into pooling parameters (p, K, S, ceil_mode: often valid,
// sometimes not: zero, negative, NaN, Inf, huge), a tensor description (rank
// 1-4, N, C, L, layout NCL / NLC / gapped / zero strides, dtype float32 /
// float64 / int32 / mixed), the pass (forward / backward) and the values
// (including NaN, Inf, subnormals, zeros). The harness predicts validity
// itself; then:
//  - predicted invalid: the call must throw std::invalid_argument and leave
//    every output element and the storage around it untouched;
//  - predicted valid: the call must not throw, and the result must match the
//    float64 reference (forward; backward against the reference gradient of
//    the kernel's own y) within docs/semantics.md's bounds.
// Anything else aborts, which libFuzzer reports as a crash.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <vector>

#include "lppool1d.h"
#include "reference.h"

namespace {

[[noreturn]] void die(const char *what) {
    std::fprintf(stderr, "lppool_fuzzer: %s\n", what);
    std::abort();
}

constexpr double kSentinel = -12345.5;

double pick_p(FuzzedDataProvider &in) {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: return 1;
    case 1: return 2;
    case 2: return 3;
    case 3: return 0.5;
    case 4: return in.ConsumeFloatingPointInRange<double>(1e-3, 1e3);
    case 5: return 0;
    case 6: return -in.ConsumeFloatingPointInRange<double>(0, 10);
    case 7: return std::numeric_limits<double>::quiet_NaN();
    case 8: return std::numeric_limits<double>::infinity();
    default: return in.ConsumeFloatingPointInRange<double>(0.1, 8);
    }
}

double pick_value(FuzzedDataProvider &in) {
    switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 0: return 0;
    case 1: return std::numeric_limits<double>::quiet_NaN();
    case 2: return std::numeric_limits<double>::infinity();
    case 3: return -std::numeric_limits<double>::infinity();
    case 4: return 1e-40;  // float32 subnormal
    case 5: return 1e30;
    default: return in.ConsumeFloatingPointInRange<double>(-4, 4);
    }
}

// Every dtype the kernels take (schedules/dtypes.def).
enum Dtype { f32, f64, f16, bf16, kDtypes };
const char *const kDtypeNames[] = {"f32", "f64", "f16", "bf16"};

// The value v has once stored in `dtype` (16-bit types round float32's value).
double stored(int dtype, double v) {
    switch (dtype) {
    case f64: return v;
    case f16: return lppool::to_float(lppool::to_float16(float(v)));
    case bf16: return lppool::to_float(lppool::to_bfloat16(float(v)));
    default: return double(float(v));
    }
}

// Whether a true value of magnitude m is Inf in the dtype. The 16-bit types
// round float32's result: from the largest finite value plus half its ulp
// up, ties to even (Inf). float32 and float64 results carry more error
// than that half ulp, so only past the largest finite value.
bool beyond_range(reference::real m, int dtype) {
    switch (dtype) {
    case f64: return m > std::numeric_limits<double>::max();
    case f16: return m >= 0x1.ffep15;   // 65504 + 16
    case bf16: return m >= 0x1.ffp127;  // (2 - 2^-7) * 2^127 + 2^119
    default: return m > std::numeric_limits<float>::max();
    }
}

double smallest_normal(int dtype) {
    return dtype == f64 ? std::numeric_limits<double>::min()
           : dtype == f16 ? 0x1p-14 : double(std::numeric_limits<float>::min());
}

// One rounding to the dtype, relative: the 16-bit types round float32's result.
double rounding(int dtype) { return dtype == f16 ? 0x1p-11 : dtype == bf16 ? 0x1p-8 : 0.0; }

// A tensor over its own storage, sentinel-filled around the elements.
struct Tensor {
    int rank = 3;
    int64_t sizes[4] = {1, 1, 1, 1};   // PyTorch order; rank entries used
    int64_t strides[4] = {0, 0, 0, 0};
    std::vector<double> storage;  // holds elements of the dtype
    int dtype = f64;

    int64_t span() const {
        int64_t s = 1;
        for (int i = 0; i < rank; i++) {
            if (sizes[i] > 0) s += (sizes[i] - 1) * strides[i];
        }
        return s;
    }
    void *data() { return storage.data(); }
    template <typename T>
    T *elements() const { return reinterpret_cast<T *>(const_cast<double *>(storage.data())); }
    double get(int64_t offset) const {
        switch (dtype) {
        case f64: return storage[size_t(offset)];
        case f16: return lppool::to_float(elements<lppool::float16>()[offset]);
        case bf16: return lppool::to_float(elements<lppool::bfloat16>()[offset]);
        default: return double(elements<float>()[offset]);
        }
    }
    void set(int64_t offset, double v) {
        switch (dtype) {
        case f64: storage[size_t(offset)] = v; break;
        case f16: elements<lppool::float16>()[offset] = lppool::to_float16(float(v)); break;
        case bf16: elements<lppool::bfloat16>()[offset] = lppool::to_bfloat16(float(v)); break;
        default: elements<float>()[offset] = float(v);
        }
    }
};

// layout: 0 dense NCL, 1 NLC, 2 gapped, 3 zero stride on C (broadcast input).
Tensor make(int rank, const int64_t *sizes, int layout, int dtype) {
    Tensor t;
    t.rank = rank;
    t.dtype = dtype;
    for (int i = 0; i < rank; i++) t.sizes[i] = sizes[i];
    const int l = rank - 1, c = rank - 2;
    int64_t stride = layout == 2 ? 3 : 1;
    if (layout == 1 && rank >= 2) {  // C innermost, then L, then the rest
        t.strides[c] = 1;
        t.strides[l] = std::max<int64_t>(1, sizes[c]);
        stride = t.strides[l] * std::max<int64_t>(1, sizes[l]);
        for (int i = rank - 3; i >= 0; i--) {
            t.strides[i] = stride;
            stride *= std::max<int64_t>(1, sizes[i]);
        }
    } else {
        for (int i = rank - 1; i >= 0; i--) {
            t.strides[i] = stride;
            stride *= std::max<int64_t>(1, sizes[i]) + (layout == 2 ? 1 : 0);
        }
        if (layout == 3 && rank >= 2) t.strides[c] = 0;
    }
    const int64_t elems = std::max<int64_t>(1, t.span()) + 8;
    t.storage.assign(size_t(elems), 0.0);
    for (int64_t i = 0; i < elems; i++) t.set(i, kSentinel);
    return t;
}

template <typename T>
lppool::TensorView<T> view(Tensor &t) {
    lppool::TensorView<T> v;
    v.data = reinterpret_cast<T *>(t.data());
    v.rank = t.rank;
    for (int i = 0; i < t.rank && i < 3; i++) {
        v.sizes[size_t(i)] = t.sizes[i];
        v.strides[size_t(i)] = t.strides[i];
    }
    return v;
}

// Element offsets of a valid rank-2/3 tensor, as (n, c, l) -> offset.
int64_t offset(const Tensor &t, int64_t n, int64_t c, int64_t l) {
    return t.rank == 3 ? n * t.strides[0] + c * t.strides[1] + l * t.strides[2]
                       : c * t.strides[0] + l * t.strides[1];
}

reference::Tensor to_reference(const Tensor &t) {
    const int64_t N = t.rank == 3 ? t.sizes[0] : 1, C = t.sizes[t.rank - 2], L = t.sizes[t.rank - 1];
    reference::Tensor r(N, C, L);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t l = 0; l < L; l++) r.at(n, c, l) = t.get(offset(t, n, c, l));
    return r;
}

// A true value beyond the dtype's range is +-Inf in it.
reference::real in_range(reference::real v, int dtype) {
    return beyond_range(std::fabs(v), dtype) ? std::copysign(std::numeric_limits<reference::real>::infinity(), v)
                                             : v;
}

bool close(reference::real got, reference::real want, double rel, reference::real scale) {
    if (std::isnan(want)) return std::isnan(got);
    if (std::isinf(want)) return got == want;
    if (!std::isfinite(got)) return false;
    return std::fabs(got - want) <= rel * std::max<reference::real>(scale, 1e-30);
}

// x, grad_y and grad_x are TX; y is TY (mixed dtypes must be rejected).
template <typename TX, typename TY>
void call(const lppool::LPPool1d &pool, bool backward, Tensor &x, Tensor &y, Tensor &dy, Tensor &dx) {
    if (!backward) {
        pool.forward(view<const TX>(x), view<TY>(y));
    } else {
        pool.backward(view<const TX>(x), view<const TY>(y), view<const TX>(dy), view<TX>(dx));
    }
}

// f(T{}) for the C++ type of `dtype`.
template <typename F>
void with_type(int dtype, F &&f) {
    switch (dtype) {
    case f64: f(double{}); break;
    case f16: f(lppool::float16{}); break;
    case bf16: f(lppool::bfloat16{}); break;
    default: f(float{});
    }
}

void dispatch(const lppool::LPPool1d &pool, bool backward, Tensor &x, Tensor &y, Tensor &dy, Tensor &dx) {
    with_type(x.dtype, [&](auto tx) {
        with_type(y.dtype, [&](auto ty) { call<decltype(tx), decltype(ty)>(pool, backward, x, y, dy, dx); });
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
    FuzzedDataProvider in(bytes, size);
    const double p = pick_p(in);
    const int64_t K = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(1, 12)
                                       : in.ConsumeIntegralInRange<int64_t>(-2, 70);
    const bool has_stride = in.ConsumeBool();
    const int64_t S = in.ConsumeIntegralInRange<int64_t>(-1, 14);
    const bool ceil_mode = in.ConsumeBool();
    const int rank = in.ConsumeBool() ? in.ConsumeIntegralInRange<int>(2, 3) : in.ConsumeIntegralInRange<int>(1, 4);
    int64_t sizes[4];
    for (int i = 0; i < 4; i++) sizes[i] = in.ConsumeIntegralInRange<int64_t>(i == rank - 1 ? -1 : 0, i == rank - 1 ? 90 : 5);
    const int layout = in.ConsumeIntegralInRange<int>(0, 3);
    const int dtype = in.ConsumeIntegralInRange<int>(0, kDtypes - 1);
    const int y_dtype = in.ConsumeIntegralInRange<int>(0, 9) == 0  // sometimes mixed
                            ? in.ConsumeIntegralInRange<int>(0, kDtypes - 1)
                            : dtype;
    const bool backward = in.ConsumeBool();
    const int64_t length_error = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegralInRange<int64_t>(-2, 2) : 0;

    // The harness's own view of validity (docs/semantics.md's rules).
    bool valid = std::isfinite(p) && p > 0 && K >= 1 && (!has_stride || S >= 1) && (rank == 2 || rank == 3) &&
                 y_dtype == dtype;
    for (int i = 0; i < rank; i++) valid = valid && sizes[i] >= 1;
    const int64_t L = sizes[rank - 1];
    const int64_t stride = has_stride ? S : K;
    int64_t out_len = 0;
    if (valid) {
        out_len = reference::output_length(L, K, stride, ceil_mode);
        valid = out_len >= 1;
    }
    // A broadcast (zero-stride) output or gradient is invalid; a zero-stride input is fine.
    const int out_layout = layout == 3 ? 0 : layout;
    int64_t out_sizes[4];
    for (int i = 0; i < 4; i++) out_sizes[i] = sizes[i];
    out_sizes[rank - 1] = std::max<int64_t>(1, out_len + length_error);
    valid = valid && out_sizes[rank - 1] == out_len;

    Tensor x = make(rank, sizes, layout, dtype);
    for (int64_t i = 0; i < int64_t(x.storage.size()) - 8; i++) x.set(i, pick_value(in));
    Tensor y = make(rank, out_sizes, out_layout, y_dtype);
    Tensor dy = make(rank, out_sizes, out_layout, dtype);
    for (int64_t i = 0; i < int64_t(dy.storage.size()) - 8; i++) dy.set(i, in.ConsumeFloatingPointInRange<double>(-1, 1));
    Tensor dx = make(rank, sizes, out_layout, dtype);
    if (backward && valid) {
        // y must be the forward of x for the gradient reference.
        const lppool::LPPool1d pool(p, K, has_stride ? std::optional<int64_t>(S) : std::nullopt, ceil_mode);
        dispatch(pool, false, x, y, dy, dx);
    }
    Tensor &out = backward ? dx : y;
    const std::vector<double> before = out.storage;

    bool threw = false;
    try {
        const lppool::LPPool1d pool(p, K, has_stride ? std::optional<int64_t>(S) : std::nullopt, ceil_mode);
        dispatch(pool, backward, x, y, dy, dx);
    } catch (const std::invalid_argument &) {
        threw = true;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        die("an exception other than std::invalid_argument");
    }
    if (threw == valid) {
        std::fprintf(stderr, "p=%g K=%lld S=%lld (given %d) ceil=%d rank=%d sizes=%lld,%lld,%lld,%lld "
                     "layout=%d dtype=%s y_dtype=%s backward=%d out_len=%lld length_error=%lld\n",
                     p, (long long)K, (long long)S, int(has_stride), int(ceil_mode), rank, (long long)sizes[0],
                     (long long)sizes[1], (long long)sizes[2], (long long)sizes[3], layout, kDtypeNames[dtype],
                     kDtypeNames[y_dtype],
                     int(backward), (long long)out_len, (long long)length_error);
    }
    if (!valid) {
        if (!threw) die("invalid arguments were accepted");
        if (out.storage != before) die("a rejected call wrote its output");
        return 0;
    }
    if (threw) die("valid arguments were rejected");

    // docs/semantics.md's bounds; below p = 0.2, the float32 power sum's and pow's own
    // rounding (~1e-6) is amplified by the root's exponent 1/p, so the float32
    // bound grows as 2e-6 / p there (documented in the README). The 16-bit
    // types: float32's bound, then one rounding.
    const bool f64_only = dtype == f64;
    const double computed = f64_only ? 1e-12 : 1e-5 * std::max(1.0, 0.2 / p);
    const double rel = computed + rounding(dtype);
    // Results near the dtype's normal range compare absolutely (subnormal
    // terms may be flushed; float16's subnormals are float32 normals, rounded once).
    auto floor_for = [&](double tolerance) {
        return dtype == f16 ? smallest_normal(dtype) : 16 * smallest_normal(dtype) / tolerance;
    };
    const auto rx = to_reference(x);
    const int64_t N = rank == 3 ? sizes[0] : 1, C = sizes[rank - 2];
    if (!backward) {
        const auto want = reference::forward(rx, p, K, stride, ceil_mode);
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t j = 0; j < out_len; j++) {
                    const reference::real w = in_range(want.at(n, c, j), dtype);
                    const double floor = floor_for(rel);
                    if (!close(y.get(offset(y, n, c, j)), w, rel, std::max<reference::real>(std::fabs(w), floor))) {
                        std::fprintf(stderr, "forward mismatch at (%lld, %lld, %lld): got %.17g want %.17Lg "
                                     "(p=%.17g K=%lld S=%lld ceil=%d dtype=%s L=%lld)\n",
                                     (long long)n, (long long)c, (long long)j, y.get(offset(y, n, c, j)), (long double)w, p,
                                     (long long)K, (long long)stride, int(ceil_mode), kDtypeNames[dtype], (long long)L);
                        for (int64_t k = j * stride; k < std::min(L, j * stride + K); k++)
                            std::fprintf(stderr, "  x[%lld] = %.9g\n", (long long)k, x.get(offset(x, n, c, k)));
                        die("forward result differs from the float64 reference");
                    }
                }
    } else {
        const auto want = reference::backward(rx, to_reference(y), to_reference(dy), p, K, stride);
        // docs/semantics.md defines the gradient for finite inputs: compare elements
        // that are finite and whose windows all have a finite y that is 0 or
        // normal (a subnormal y carries fewer than 24 bits, so x / y cannot
        // meet the float32 bound; the forward's floor plays the same role).
        const double min_normal = smallest_normal(dtype);
        // Likewise, for float64 at p >= 1, an element whose ratio |x| / y falls
        // below the dtype's range gets 0 for that window's term (README);
        // float32 forms such powers without the ratio.
        auto finite_neighbourhood = [&](int64_t n, int64_t c, int64_t l) {
            const double xl = x.get(offset(x, n, c, l));
            if (!std::isfinite(xl)) return false;
            for (int64_t w = 0; w < out_len; w++) {
                const double yw = y.get(offset(y, n, c, w));
                if (w * stride <= l && l < w * stride + K &&
                    (!std::isfinite(yw) || (yw != 0 && std::fabs(yw) < min_normal) ||
                     (f64_only && p >= 1 && xl != 0 && yw != 0 && std::fabs(xl) / std::fabs(yw) < min_normal)))
                    return false;
            }
            return true;
        };
        const double bound = computed * std::max(1.0, std::fabs(p - 1)) + rounding(dtype);
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t l = 0; l < L; l++) {
                    const reference::real w = in_range(want.grad_x.at(n, c, l), dtype);
                    if (!std::isfinite(double(w)) || !finite_neighbourhood(n, c, l)) continue;
                    const double got = dx.get(offset(dx, n, c, l));
                    const double floor = floor_for(bound);
                    if (!close(got, w, bound, std::max<reference::real>(want.magnitude.at(n, c, l), floor))) {
                        std::fprintf(stderr, "backward mismatch at (%lld, %lld, %lld): got %.17g want %.17Lg "
                                     "(p=%.17g K=%lld S=%lld ceil=%d dtype=%s L=%lld)\n",
                                     (long long)n, (long long)c, (long long)l, got, (long double)w, p, (long long)K,
                                     (long long)stride, int(ceil_mode), kDtypeNames[dtype], (long long)L);
                        for (int64_t k = std::max<int64_t>(0, l - K); k < std::min(L, l + K); k++)
                            std::fprintf(stderr, "  x[%lld] = %.9g\n", (long long)k, x.get(offset(x, n, c, k)));
                        for (int64_t j = 0; j < out_len; j++)
                            std::fprintf(stderr, "  y[%lld] = %.9g dy = %.9g\n", (long long)j, y.get(offset(y, n, c, j)), dy.get(offset(dy, n, c, j)));
                        die("backward result differs from the float64 reference");
                    }
                }
    }
    // Nothing outside the output's elements was written.
    std::vector<bool> element(out.storage.size(), false);
    const int64_t out_L = backward ? L : out_len;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t l = 0; l < out_L; l++) element[size_t(offset(out, n, c, l))] = true;
    for (size_t i = 0; i < out.storage.size(); i++) {
        if (!element[i] && out.get(int64_t(i)) != stored(out.dtype, kSentinel))
            die("storage outside the output was written");
    }
    return 0;
}
