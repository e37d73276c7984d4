#include "call_context.h"

#include <cstdio>
#include <cstdlib>

#include "HalideRuntime.h"

namespace lppool::detail {
namespace {

halide_error_handler_t previous_error_handler = nullptr;

extern "C" void route_halide_error(void *user_context, const char *message) {
    auto *ctx = static_cast<CallContext *>(user_context);
    if (ctx != nullptr && ctx->tag == kContextTag) {
        std::lock_guard<std::mutex> lock(ctx->mutex);
        ctx->error += message;
        return;
    }
    if (previous_error_handler != nullptr) {
        previous_error_handler(user_context, message);
    } else {
        std::fputs(message, stderr);
        std::abort();
    }
}

}  // namespace

void install_error_routing() {
    static std::once_flag once;
    std::call_once(once, [] { previous_error_handler = halide_set_error_handler(route_halide_error); });
}

}  // namespace lppool::detail
