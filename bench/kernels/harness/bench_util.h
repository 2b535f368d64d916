/* Prototype benchmark harness: platform shim (qemu board glue or host stdio), data, reporting. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <string.h>

#ifdef BENCH_HOST
#include <stdio.h>
#include <stdlib.h>
static inline void bench_puts(const char *s)
{
    fputs(s, stdout);
}
static inline void bench_put_u32(uint32_t v)
{
    printf("%lu", (unsigned long)v);
}
static inline void bench_put_i32(int32_t v)
{
    printf("%ld", (long)v);
}
static inline void bench_start(void)
{
}
static inline uint32_t bench_elapsed(void)
{
    return 0;
}
#define BENCH_CPU "host"
#else
#include "counter.h"
#include "semihost.h"
static inline void bench_puts(const char *s)
{
    edgegen_board_puts(s);
}
static inline void bench_put_u32(uint32_t v)
{
    edgegen_board_put_u32(v);
}
static inline void bench_put_i32(int32_t v)
{
    edgegen_board_put_i32(v);
}
static inline void bench_start(void)
{
    edgegen_counter_start();
}
static inline uint32_t bench_elapsed(void)
{
    return (uint32_t)edgegen_counter_elapsed();
}
#define BENCH_CPU EDGEGEN_BOARD_NAME
#endif

/* LCG of ANCHORS.md. */
static uint32_t bench_seed = 0x12345678u;
static inline uint32_t bench_rand(void)
{
    bench_seed = bench_seed * 1664525u + 1013904223u;
    return bench_seed;
}
static inline int32_t bench_rand_range(int32_t lo, int32_t hi)
{
    return lo + (int32_t)((bench_rand() >> 8) % (uint32_t)(hi - lo + 1));
}
static inline void bench_fill_i8(int8_t *p, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; i++)
    {
        p[i] = (int8_t)bench_rand_range(lo, hi);
    }
}

static int bench_failures;

/* One result line: kernel, variant, MACs, instructions, MAC/instr (x1000), exact vs reference. */
static inline void bench_report(const char *kernel, const char *variant, uint32_t macs, uint32_t instr,
                                const int8_t *out, const int8_t *ref, int32_t n)
{
    int32_t bad = -1;
    if (ref != 0)
    {
        for (int32_t i = 0; i < n; i++)
        {
            if (out[i] != ref[i])
            {
                bad = i;
                break;
            }
        }
    }
    bench_puts("RESULT ");
    bench_puts(BENCH_CPU);
    bench_puts(" ");
    bench_puts(kernel);
    bench_puts(" ");
    bench_puts(variant);
    bench_puts(" macs=");
    bench_put_u32(macs);
    bench_puts(" instr=");
    bench_put_u32(instr);
    bench_puts(" mac_per_kinstr=");
    bench_put_u32(instr ? (uint32_t)((uint64_t)macs * 1000u / instr) : 0u);
    if (ref == 0)
    {
        bench_puts(" exact=reference\n");
    }
    else if (bad < 0)
    {
        bench_puts(" exact=yes\n");
    }
    else
    {
        bench_failures++;
        bench_puts(" exact=NO first_diff=");
        bench_put_i32(bad);
        bench_puts(" got=");
        bench_put_i32(out[bad]);
        bench_puts(" want=");
        bench_put_i32(ref[bad]);
        bench_puts("\n");
    }
}

#endif /* BENCH_UTIL_H */
