/*
 * Stand-alone check of the qemu board glue, built and run by
 * tests/test_qemu_glue.py for every machine. It exercises exactly what the
 * generated model code relies on: semihosting output and exit code, the FPU
 * (and MVE on the Cortex-M55), a large arena in .bss, large constants in the
 * flash region, and the instruction counter.
 *
 * Run-time options, words of the qemu command line (`-append "exit=3 fault"`),
 * so one binary per machine covers every case:
 *   exit=N   exit code to finish with when every check passes (default 0)
 *   fault    read from unmapped memory to exercise the HardFault path
 * A failed check prints "FAIL ..." and exits with 1 (the tests expect other
 * codes on success, so a failure can never look like the expected result).
 */
#include <stdint.h>

#include "counter.h"
#include "edgegen_board_config.h"
#include "semihost.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

/* Iterations of the two-instruction calibration loop. */
#define LOOP_ITERATIONS 100000u

/* 200 KiB in .bss, like a model arena. */
#define BSS_BYTES (200u * 1024u)
static uint8_t big_bss[BSS_BYTES];

/* 500 KiB of constants whose every word differs, so a truncated or
 * misplaced load image is detected: word i holds 0x100000 + i. The literals
 * are built by pasting hex digits onto a prefix (cheap to preprocess, unlike
 * arithmetic on the index): H16(0x1234) is 0x12340 ... 0x1234F, and so on.
 * 31 blocks of 4096 plus 4 blocks of 256 make 128000 words. */
#define CONST_WORDS 128000u
#define CONST_VALUE(i) (0x100000u + (i))
#define H16(p) p##0, p##1, p##2, p##3, p##4, p##5, p##6, p##7, p##8, p##9, p##A, p##B, p##C, p##D, p##E, p##F
#define H256(p)                                                                                           \
    H16(p##0), H16(p##1), H16(p##2), H16(p##3), H16(p##4), H16(p##5), H16(p##6), H16(p##7), H16(p##8),    \
        H16(p##9), H16(p##A), H16(p##B), H16(p##C), H16(p##D), H16(p##E), H16(p##F)
#define H4096(p)                                                                                          \
    H256(p##0), H256(p##1), H256(p##2), H256(p##3), H256(p##4), H256(p##5), H256(p##6), H256(p##7),       \
        H256(p##8), H256(p##9), H256(p##A), H256(p##B), H256(p##C), H256(p##D), H256(p##E), H256(p##F)
static const uint32_t big_const[CONST_WORDS] = {
    H4096(0x100), H4096(0x101), H4096(0x102), H4096(0x103), H4096(0x104), H4096(0x105), H4096(0x106),
    H4096(0x107), H4096(0x108), H4096(0x109), H4096(0x10A), H4096(0x10B), H4096(0x10C), H4096(0x10D),
    H4096(0x10E), H4096(0x10F), H4096(0x110), H4096(0x111), H4096(0x112), H4096(0x113), H4096(0x114),
    H4096(0x115), H4096(0x116), H4096(0x117), H4096(0x118), H4096(0x119), H4096(0x11A), H4096(0x11B),
    H4096(0x11C), H4096(0x11D), H4096(0x11E), H256(0x11F0), H256(0x11F1), H256(0x11F2), H256(0x11F3),
};

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        edgegen_board_puts("FAIL ");
        edgegen_board_puts(what);
        edgegen_board_puts("\n");
        failures++;
    }
}

/* volatile operands keep the compiler from folding the arithmetic, so the
 * FPU really executes it (an FP instruction with CP10/11 disabled faults). */
static void check_fpu(void)
{
    volatile float fa = 1.0f;
    volatile float fb = 3.0f;
    volatile float fc = 1.5f;
    volatile float fd = 2.25f;
    volatile double da = 1.0;
    volatile double db = 3.0;
    union {
        float f;
        uint32_t u;
    } fq;
    union {
        double d;
        uint64_t u;
    } dq;

    fq.f = fa / fb;
    check(fq.u == 0x3eaaaaabu, "float 1/3");
    check(fc * fd == 3.375f, "float 1.5*2.25");
    dq.d = da / db; /* hardware on M7/M55 (double-precision FPU), libgcc on M4 */
    check(dq.u == 0x3fd5555555555555ull, "double 1/3");

    edgegen_board_puts("fpu ok mvfr0=");
    edgegen_board_put_hex32(*(volatile uint32_t *)0xE000EF40u); /* MVFR0: FP features */
    edgegen_board_puts("\n");
}

#if defined(__ARM_FEATURE_MVE)
/* One 16-lane int8 saturating add, the kind of instruction CMSIS-NN's MVE
 * kernels are built from. */
static void check_mve(void)
{
    int8_t a[16];
    int8_t b[16];
    int8_t out[16];
    int i;
    for (i = 0; i < 16; i++) {
        a[i] = (int8_t)(i * 9);
        b[i] = (int8_t)(100 - i);
    }
    vst1q_s8(out, vqaddq_s8(vld1q_s8(a), vld1q_s8(b)));
    for (i = 0; i < 16; i++) {
        int sum = a[i] + b[i];
        int saturated = sum > 127 ? 127 : (sum < -128 ? -128 : sum);
        check(out[i] == saturated, "mve vqaddq_s8");
    }
    edgegen_board_puts("mve ok\n");
}
#endif

static void check_bss(void)
{
    volatile uint8_t *p = big_bss;
    uint32_t i;
    int zero = 1;
    int same = 1;
    for (i = 0; i < BSS_BYTES; i++) {
        zero &= (p[i] == 0u);
    }
    check(zero, "bss starts zeroed");
    for (i = 0; i < BSS_BYTES; i++) {
        p[i] = (uint8_t)(i * 7u + (i >> 8));
    }
    for (i = 0; i < BSS_BYTES; i++) {
        same &= (p[i] == (uint8_t)(i * 7u + (i >> 8)));
    }
    check(same, "bss write/read");
    edgegen_board_puts("bss ok bytes=");
    edgegen_board_put_u32(BSS_BYTES);
    edgegen_board_puts(" at=");
    edgegen_board_put_hex32((uint32_t)(uintptr_t)big_bss);
    edgegen_board_puts("\n");
}

static void check_const(void)
{
    const volatile uint32_t *p = big_const;
    uint32_t i;
    int same = 1;
    for (i = 0; i < CONST_WORDS; i++) {
        same &= (p[i] == CONST_VALUE(i));
    }
    check(same, "const contents");
    edgegen_board_puts("rodata ok bytes=");
    edgegen_board_put_u32((uint32_t)sizeof big_const);
    edgegen_board_puts(" at=");
    edgegen_board_put_hex32((uint32_t)(uintptr_t)big_const);
    edgegen_board_puts("\n");
}

/* Exactly two instructions per iteration (subs, bne), written in assembly
 * so the compiler cannot change the count. */
static void spin(uint32_t n)
{
    __asm__ volatile("1:\n\t"
                     "subs %0, %0, #1\n\t"
                     "bne 1b\n\t"
                     : "+r"(n)
                     :
                     : "cc");
}

static void check_counter(void)
{
    uint64_t empty;
    uint64_t loop;
    uint64_t loop2;
    uint32_t r0;
    uint32_t r1;

    edgegen_counter_start();
    empty = edgegen_counter_elapsed();

    edgegen_counter_start();
    spin(LOOP_ITERATIONS);
    loop = edgegen_counter_elapsed();

    edgegen_counter_start();
    spin(2u * LOOP_ITERATIONS);
    loop2 = edgegen_counter_elapsed();

    r0 = edgegen_counter_read();
    spin(LOOP_ITERATIONS);
    r1 = edgegen_counter_read();

    check(loop2 > loop, "counter grows with work");
    check(r1 - r0 >= loop - 64u && r1 - r0 <= loop + 64u, "counter_read agrees with elapsed");

    edgegen_board_puts("counter empty=");
    edgegen_board_put_u64(empty);
    edgegen_board_puts(" loop=");
    edgegen_board_put_u64(loop);
    edgegen_board_puts(" loop2=");
    edgegen_board_put_u64(loop2);
    edgegen_board_puts(" read_delta=");
    edgegen_board_put_u32(r1 - r0);
    edgegen_board_puts(" expected=");
    edgegen_board_put_u32(2u * LOOP_ITERATIONS);
    edgegen_board_puts(" granularity=");
    edgegen_board_put_u32(EDGEGEN_COUNTER_GRANULARITY_NUM);
    edgegen_board_puts("/");
    edgegen_board_put_u32(EDGEGEN_COUNTER_GRANULARITY_DEN);
    edgegen_board_puts("\n");
}

/* Options parsed from the command line. */
static int exit_code;
static int want_fault;

/* Splits the command line at spaces; unknown words (such as the kernel file
 * name qemu puts first) are ignored. */
static void parse_cmdline(void)
{
    static char line[256];
    char *p = line;
    if (edgegen_board_cmdline(line, sizeof line) < 0) {
        return;
    }
    while (*p != '\0') {
        char *word = p;
        while (*p != '\0' && *p != ' ') {
            p++;
        }
        if (*p == ' ') {
            *p++ = '\0';
        }
        if (word[0] == 'e' && word[1] == 'x' && word[2] == 'i' && word[3] == 't' && word[4] == '=') {
            int v = 0;
            const char *d = &word[5];
            while (*d >= '0' && *d <= '9') {
                v = v * 10 + (*d++ - '0');
            }
            exit_code = v;
        } else if (word[0] == 'f' && word[1] == 'a' && word[2] == 'u' && word[3] == 'l' && word[4] == 't' &&
                   word[5] == '\0') {
            want_fault = 1;
        }
    }
}

int main(void)
{
    parse_cmdline();
    edgegen_board_puts("edgegen selftest board=" EDGEGEN_BOARD_NAME "\n");
    check_fpu();
#if defined(__ARM_FEATURE_MVE)
    check_mve();
#endif
    check_bss();
    check_const();
    check_counter();
    if (want_fault) {
        /* 0xF0000000 is unmapped on every board: the load raises a BusFault,
         * escalated to HardFault, which must end qemu with EDGEGEN_BOARD_EXIT_FAULT. */
        edgegen_board_puts("faulting now\n");
        (void)*(volatile uint32_t *)0xF0000000u;
    }
    if (failures != 0) {
        edgegen_board_puts("selftest FAILED\n");
        return 1;
    }
    edgegen_board_puts("selftest passed exit=");
    edgegen_board_put_i32(exit_code);
    edgegen_board_puts("\n");
    return exit_code;
}
