/* Float codec byte planes (specs/xet-storage.md §3, ZipNN byte grouping): every element is
 * rotated left by one bit, which moves the sign to the lowest bit and lets the exponent fill the
 * top byte (BF16 and FP32: exactly the 8 exponent bits; FP16: 5 exponent bits and the top 3
 * mantissa bits), then the bytes are split into planes, most significant first. The exponent
 * plane carries ~2.7 bits of entropy per byte in real weights; the others are near random and
 * usually end up stored. Plain loops the compiler vectorizes; no state. */
#include "tensor/codec_internal.h"
#include "weft/cpu.h"

int weft_tensor__use_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return (weft_cpu_features() & WEFT_CPU_AVX2) != 0;
#else
    return 0;
#endif
}

int weft_tensor__use_avx512_vbmi2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static volatile int cached = -1;
    if (cached < 0)
        cached =
            (weft_cpu_features() & WEFT_CPU_AVX512) != 0 && __builtin_cpu_supports("avx512vbmi2");
    return cached;
#else
    return 0;
#endif
}

#if !defined(__x86_64__) && !defined(__i386__)
/* Never called off x86 (weft_tensor__use_avx2 is 0); defined so the references link. */
size_t weft_tensor__float_split16_avx2(uint8_t *planes, const uint8_t *in, size_t n)
{
    (void)planes, (void)in, (void)n;
    return 0;
}
size_t weft_tensor__float_join16_avx2(uint8_t *out, const uint8_t *hi, const uint8_t *lo, size_t n)
{
    (void)out, (void)hi, (void)lo, (void)n;
    return 0;
}
#endif

void weft_tensor__float_split(uint8_t *planes, const uint8_t *in, size_t n, size_t esize)
{
    if (esize == 2) {
        uint8_t *hi = planes, *lo = planes + n;
        size_t i = weft_tensor__use_avx2() ? weft_tensor__float_split16_avx2(planes, in, n) : 0;
        for (; i < n; i++) {
            uint16_t w = weft_tensor__load16(in + 2 * i);
            uint16_t r = (uint16_t)(w << 1 | w >> 15);
            hi[i] = (uint8_t)(r >> 8);
            lo[i] = (uint8_t)r;
        }
        return;
    }
    uint8_t *p0 = planes, *p1 = planes + n, *p2 = planes + 2 * n, *p3 = planes + 3 * n;
    for (size_t i = 0; i < n; i++) {
        uint32_t w = weft_tensor__load32(in + 4 * i);
        uint32_t r = w << 1 | w >> 31;
        p0[i] = (uint8_t)(r >> 24);
        p1[i] = (uint8_t)(r >> 16);
        p2[i] = (uint8_t)(r >> 8);
        p3[i] = (uint8_t)r;
    }
}

void weft_tensor__float_join(uint8_t *out, const uint8_t *const planes[4], size_t n, size_t esize)
{
    if (esize == 2) {
        const uint8_t *hi = planes[0], *lo = planes[1];
        size_t i = weft_tensor__use_avx2() ? weft_tensor__float_join16_avx2(out, hi, lo, n) : 0;
        for (; i < n; i++) {
            uint16_t r = (uint16_t)(hi[i] << 8 | lo[i]);
            weft_tensor__store16(out + 2 * i, (uint16_t)(r >> 1 | r << 15));
        }
        return;
    }
    const uint8_t *p0 = planes[0], *p1 = planes[1], *p2 = planes[2], *p3 = planes[3];
    for (size_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)p0[i] << 24 | (uint32_t)p1[i] << 16 | (uint32_t)p2[i] << 8 | p3[i];
        weft_tensor__store32(out + 4 * i, r >> 1 | r << 31);
    }
}

int weft_tensor__plane_is_noise(const uint8_t *plane, size_t n)
{
    enum { RUNS = 32, RUN = 64, S = RUNS * RUN };
    if (n < 8192)
        return 0;
    uint32_t c[256] = {0};
    size_t step = (n - RUN) / (RUNS - 1);
    for (size_t r = 0; r < RUNS; r++)
        for (size_t i = 0; i < RUN; i++)
            c[plane[r * step + i]]++;
    uint64_t s2 = 0;
    for (int v = 0; v < 256; v++)
        s2 += (uint64_t)c[v] * c[v];
    /* Uniform bytes give E[sum c^2] = S + S(S-1)/256; measured BF16 mantissa planes stay under
     * 1.10 times that, and Huffman gains nothing below about 1.3 times. */
    return s2 * 100 <= 115 * ((uint64_t)S + (uint64_t)S * (S - 1) / 256);
}
