/* CPU feature selection for SIMD kernels.
 *
 * Kernels with arch/ fast paths ask weft_cpu_features() once and pick an implementation.
 * Setting WEFT_KERNEL=ref in the environment forces every kernel to its portable reference
 * (features read as 0); WEFT_KERNEL=avx2 caps the choice at AVX2. Thread-safe; cached. */
#ifndef WEFT_CPU_H
#define WEFT_CPU_H

enum {
    WEFT_CPU_AVX2 = 1u << 0,
    WEFT_CPU_AVX512 = 1u << 1, /* F + VL + BW + DQ */
    WEFT_CPU_SHANI = 1u << 2,
};

/* The usable feature bits, after the WEFT_KERNEL override. */
unsigned weft_cpu_features(void);

/* Name of the best kernel level in use ("ref", "avx2", "avx512"), for reports. */
const char *weft_cpu_level_name(void);

#endif
