/*
 * compute_dtype.c - which dtype the GEMMs and convolutions compute in
 * (--dtype f32|bf16|auto; backend.h).
 *
 * bf16 means bf16 weights and GEMM/convolution inputs with f32 accumulation;
 * norms, softmax statistics, the scheduler and every other activation stay f32.
 * "auto" takes bf16 where the CPU computes it natively (cpuid: AVX512_BF16 or
 * AMX-BF16, with AVX-512 enabled by the OS as oneDNN reports it) and f32
 * elsewhere. oneDNN runs bf16 on any AVX-512 CPU (emulated without the
 * instructions) and not below that.
 */
#include "ops/backend.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* AVX512_BF16 (leaf 7.1 EAX bit 5) and AMX-BF16 (leaf 7.0 EDX bit 22). */
static void cpu_bf16_flags(int *avx512_bf16, int *amx_bf16)
{
    *avx512_bf16 = *amx_bf16 = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) *amx_bf16 = (d >> 22) & 1;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) *avx512_bf16 = (a >> 5) & 1;
#endif
}

/* oneDNN's effective ISA includes AVX-512 (the OS saves its state). */
static int dnnl_avx512(void) { return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core; }

int iid__bf16_supported(void) { return dnnl_avx512(); }

iid_status iid__compute_dtype_choose(const char *name, iid_compute_dtype_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    int avx, amx;
    cpu_bf16_flags(&avx, &amx);
    int native = (avx || amx) && dnnl_avx512();
    if (!name || strcmp(name, "f32") == 0) {
        out->dtype = IID_DTYPE_F32;
        snprintf(out->why, sizeof out->why, "f32 %s", name ? "(--dtype f32)" : "(the default)");
    } else if (strcmp(name, "bf16") == 0) {
        if (!iid__bf16_supported())
            return iid__fail(err, IID_ERR_UNSUPPORTED, "--dtype bf16: this CPU has no AVX-512, which oneDNN's bf16 "
                                                       "needs; use f32");
        out->dtype = IID_DTYPE_BF16;
        snprintf(out->why, sizeof out->why, "bf16 (--dtype bf16%s)",
                 native ? "" : "; no AVX512_BF16 or AMX here, so oneDNN emulates it, slower than f32");
    } else if (strcmp(name, "auto") == 0) {
        out->dtype = native ? IID_DTYPE_BF16 : IID_DTYPE_F32;
        snprintf(out->why, sizeof out->why, "%s (--dtype auto: %s)", native ? "bf16" : "f32",
                 native ? (amx ? "the CPU has AMX-BF16" : "the CPU has AVX512_BF16")
                        : "the CPU has neither AVX512_BF16 nor AMX-BF16");
    } else {
        return iid__fail(err, IID_ERR_INVALID, "--dtype %s: expected f32, bf16 or auto", name);
    }
    return IID_OK;
}

iid_dtype_t iid__compute_dtype_default(void)
{
    const char *e = getenv(IID_DTYPE_ENV);
    return e && strcmp(e, "bf16") == 0 && iid__bf16_supported() ? IID_DTYPE_BF16 : IID_DTYPE_F32;
}
