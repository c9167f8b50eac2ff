/* Run-time CPU feature detection (include/weft/cpu.h). */
#include <stdlib.h>
#include <string.h>

#include "weft/cpu.h"

static unsigned cpu_detect(void)
{
    unsigned f = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2"))
        f |= WEFT_CPU_AVX2;
    if ((f & WEFT_CPU_AVX2) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq"))
        f |= WEFT_CPU_AVX512;
    const char *k = getenv("WEFT_KERNEL");
    if (k != NULL && strcmp(k, "ref") == 0)
        f = 0;
    else if (k != NULL && strcmp(k, "avx2") == 0)
        f &= WEFT_CPU_AVX2;
    return f;
}

unsigned weft_cpu_features(void)
{
    /* Benign race: every thread computes the same value. */
    static volatile int done;
    static volatile unsigned cached;
    if (!done) {
        cached = cpu_detect();
        done = 1;
    }
    return cached;
}

const char *weft_cpu_level_name(void)
{
    unsigned f = weft_cpu_features();
    if (f & WEFT_CPU_AVX512)
        return "avx512";
    if (f & WEFT_CPU_AVX2)
        return "avx2";
    return "ref";
}
