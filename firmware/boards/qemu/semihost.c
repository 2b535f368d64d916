/*
 * Semihosting console and exit for the qemu boards (see semihost.h).
 */
#include "semihost.h"

#include "counter.h"

/* Semihosting operation numbers from the Arm semihosting specification. */
#define SYS_WRITE0 0x04u
#define SYS_GET_CMDLINE 0x15u
#define SYS_EXIT 0x18u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

/* One semihosting request: r0 holds the operation, r1 its argument, and the
 * debugger (qemu) answers in r0. "memory" because qemu reads the argument
 * block and may write guest memory. */
static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void edgegen_board_init(void)
{
    edgegen_counter_init();
}

void edgegen_board_puts(const char *s)
{
    semihost_call(SYS_WRITE0, s);
}

/* Digits are produced backwards into a buffer big enough for 2^64-1 (20
 * digits) plus the sign and the terminator, then written with one trap. */
void edgegen_board_put_u64(uint64_t v)
{
    char buf[22];
    char *p = &buf[sizeof buf - 1];
    *p = '\0';
    do {
        *--p = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    edgegen_board_puts(p);
}

void edgegen_board_put_u32(uint32_t v)
{
    /* A 32-bit loop avoids pulling in libgcc's 64-bit division for the common case. */
    char buf[12];
    char *p = &buf[sizeof buf - 1];
    *p = '\0';
    do {
        *--p = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    edgegen_board_puts(p);
}

void edgegen_board_put_i32(int32_t v)
{
    /* Negate in unsigned arithmetic so INT32_MIN does not overflow. */
    uint32_t magnitude = (uint32_t)v;
    if (v < 0) {
        edgegen_board_puts("-");
        magnitude = 0u - magnitude;
    }
    edgegen_board_put_u32(magnitude);
}

void edgegen_board_put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    int i;
    buf[0] = '0';
    buf[1] = 'x';
    for (i = 0; i < 8; i++) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xfu];
    }
    buf[10] = '\0';
    edgegen_board_puts(buf);
}

int32_t edgegen_board_cmdline(char *buf, uint32_t size)
{
    /* Argument block: buffer address and size; the host rewrites the size
     * with the length it stored (excluding the terminator). */
    uint32_t block[2];
    if (size == 0u) {
        return -1;
    }
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = size;
    if (semihost_call(SYS_GET_CMDLINE, block) != 0u) {
        buf[0] = '\0';
        return -1;
    }
    return (int32_t)block[1];
}

void edgegen_board_exit(int code)
{
    /* SYS_EXIT_EXTENDED passes the exit code through to the host process;
     * plain 32-bit SYS_EXIT can only say "success" or "failure". */
    uint32_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    semihost_call(SYS_EXIT_EXTENDED, block);

    /* Only reached if the host lacks SYS_EXIT_EXTENDED: keep at least the
     * success/failure distinction. */
    semihost_call(SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                                 : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
    for (;;) {
        /* Nothing left to run: stop here rather than fall into random code. */
    }
}
