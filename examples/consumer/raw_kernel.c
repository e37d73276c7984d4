/* A plain C program calling a generated kernel through its halide_buffer_t
 * entry point. It links only the kernels (LPPool::kernels, or
 * `pkg-config --cflags --libs lppool`): no C++ wrapper, no Halide. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "HalideRuntime.h"
#include "lppool1d_forward_f32_rows.h"

int main(void) {
    enum { L = 16, C = 8, N = 1, K = 4, S = 4, OUT = (L - K) / S + 1 };
    float x[N * C * L], y[N * C * OUT];
    for (int i = 0; i < N * C * L; i++) x[i] = (i % 2) ? -1.0f : 1.0f; /* |x| = 1 */
    memset(y, 0, sizeof y);

    /* (L, C, N) innermost first, dense NCL. */
    halide_dimension_t x_dims[3] = {{0, L, 1, 0}, {0, C, L, 0}, {0, N, C * L, 0}};
    halide_dimension_t y_dims[3] = {{0, OUT, 1, 0}, {0, C, OUT, 0}, {0, N, C * OUT, 0}};
    halide_buffer_t xb, yb;
    memset(&xb, 0, sizeof xb);
    memset(&yb, 0, sizeof yb);
    xb.host = (uint8_t *)x;
    xb.type.code = halide_type_float;
    xb.type.bits = 32;
    xb.type.lanes = 1;
    xb.dimensions = 3;
    xb.dim = x_dims;
    yb = xb;
    yb.host = (uint8_t *)y;
    yb.dim = y_dims;

    /* user_context (NULL: errors go to Halide's default handler), x, p, K, S, y. */
    int status = lppool1d_forward_f32_rows(NULL, &xb, 2.0, K, S, &yb);
    if (status != 0) {
        printf("FAILED: kernel returned %d\n", status);
        return 1;
    }
    for (int i = 0; i < N * C * OUT; i++) {
        if (fabsf(y[i] - 2.0f) > 1e-6f) { /* sqrt(4 * 1^2) */
            printf("FAILED: y[%d] = %g\n", i, y[i]);
            return 1;
        }
    }
    printf("raw_kernel: OK, %d windows of sqrt(sum |x|^2) = %g\n", N * C * OUT, y[0]);
    return 0;
}
