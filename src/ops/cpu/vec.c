/*
 * vec.c - the vec.h tables: vec_body.h compiled three times (see vec.h), and
 * the cpuid check that picks one.
 */
#include "ops/cpu/vec.h"

#include <math.h>
#include <stddef.h>

#define VEC_TARGET
#define VEC(name) name##_baseline
static const char name_str_baseline[] = "baseline";
#include "ops/cpu/vec_body.h"
#undef VEC_TARGET
#undef VEC

#if defined(__GNUC__) && defined(__x86_64__)
#define VEC_X86 1

#define VEC_TARGET __attribute__((target("avx2,fma")))
#define VEC(name) name##_avx2
static const char name_str_avx2[] = "avx2";
#include "ops/cpu/vec_body.h"
#undef VEC_TARGET
#undef VEC

#define VEC_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,prefer-vector-width=512")))
#define VEC(name) name##_avx512
static const char name_str_avx512[] = "avx512";
#include "ops/cpu/vec_body.h"
#undef VEC_TARGET
#undef VEC
#endif

const iid_cpu_vec_t *iid__cpu_vec_level(int level)
{
    switch (level) {
    case 0: return &table_baseline;
#ifdef VEC_X86
    case 1: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &table_avx2 : NULL;
    case 2:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")
                   ? &table_avx512
                   : NULL;
#endif
    default: return NULL;
    }
}

const iid_cpu_vec_t *iid__cpu_vec(void)
{
    for (int level = IID_CPU_VEC_LEVELS - 1; level > 0; level--)
        if (iid__cpu_vec_level(level)) return iid__cpu_vec_level(level);
    return iid__cpu_vec_level(0);
}
