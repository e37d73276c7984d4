// The values of p the kernels compute apart, defined once: the algorithm's
// selects, the schedules' specializations and the runtime's kernel choice
// all read them. No Halide here: the runtime includes it.
#pragma once

namespace lppool {

// Exact multiplications replace pow() at these powers.
inline constexpr int kExactIntegerPowers[] = {1, 2, 3, 4};

// The GPU schedules specialize on these only: Halide 14's OpenCL back end
// prints float64 constants through a float32, so a p = 3 specialization
// would fold 1/3 into a constant with 1e-8 relative error. p = 3 takes the
// general path there (its power is still the exact a*a*a arm).
inline constexpr int kGpuSpecializedPowers[] = {1, 2, 4};

// Below this p, gradient and rescue terms take their small-power forms
// (powers of ratios above 1, formed in float64 where float32 cannot hold them).
inline constexpr double kSmallPowersBelow = 1.0;

constexpr bool exact_integer_power(double p) {
    for (int v : kExactIntegerPowers) {
        if (p == v) return true;
    }
    return false;
}

}  // namespace lppool
