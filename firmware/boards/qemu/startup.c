/*
 * Reset and exception handling for the qemu MPS2/MPS3 boards: vector table,
 * C runtime set-up (.data copy, .bss clear), FPU/MVE enable, and fault
 * handlers that report through semihosting and end qemu with a non-zero code
 * instead of hanging until the test's timeout.
 */
#include <stdint.h>

#include "edgegen_board_config.h"
#include "semihost.h"

/* Provided by the application. */
int main(void);

/* Provided by sections.ld. */
extern uint32_t __edgegen_stack_top[];
extern uint32_t __edgegen_data_load[];
extern uint32_t __edgegen_data_start[];
extern uint32_t __edgegen_data_end[];
extern uint32_t __edgegen_bss_start[];
extern uint32_t __edgegen_bss_end[];
extern void (*__edgegen_init_array_start[])(void);
extern void (*__edgegen_init_array_end[])(void);

/* System Control Block registers (Armv7-M / Armv8-M ARM). */
#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void edgegen_reset_handler(void) __attribute__((noreturn));
void edgegen_hardfault_handler(void) __attribute__((naked));
void edgegen_default_handler(void);

/* A vector is either the initial stack pointer or a handler; the union keeps
 * the table free of pointer casts. */
typedef union {
    void (*handler)(void);
    const void *address;
} edgegen_vector_t;

#define EDGEGEN_NUM_VECTORS (16 + EDGEGEN_BOARD_NUM_IRQS)

/* Placed first in the boot region by sections.ld; the core fetches the stack
 * pointer and reset address from here (VTOR resets to 0 on these boards).
 * The range designator below is GNU C (like the naked handler and the inline
 * assembly of this file); __extension__ says so, keeping -Wpedantic quiet. */
__extension__ __attribute__((section(".edgegen_vectors"), used))
const edgegen_vector_t edgegen_vector_table[EDGEGEN_NUM_VECTORS] = {
    [0] = {.address = __edgegen_stack_top},
    [1] = {.handler = edgegen_reset_handler},
    [2] = {.handler = edgegen_default_handler},   /* NMI */
    [3] = {.handler = edgegen_hardfault_handler}, /* HardFault */
    /* Everything else, including reserved slots and all external IRQs, goes
     * to the default handler, which names the exception and exits. */
    [4 ... EDGEGEN_NUM_VECTORS - 1] = {.handler = edgegen_default_handler},
};

void edgegen_reset_handler(void)
{
    uint32_t *src;
    uint32_t *dst;
    void (**ctor)(void);

    /* Point VTOR at our table explicitly, in case a loader left it elsewhere. */
    SCB_VTOR = (uint32_t)(uintptr_t)edgegen_vector_table;

    /* Grant full access to CP10/CP11 before any floating-point instruction
     * runs (the hard-float ABI lets the compiler use FP registers anywhere).
     * On the Cortex-M55 the same bits also enable the MVE (Helium) unit. */
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* Plain word loops (the linker script keeps these regions 4-byte
     * aligned). The empty asm stops GCC from turning them into memcpy/memset
     * calls, so the glue links without a C library. */
    src = __edgegen_data_load;
    for (dst = __edgegen_data_start; dst < __edgegen_data_end; dst++) {
        *dst = *src++;
        __asm__ volatile("" ::: "memory");
    }
    for (dst = __edgegen_bss_start; dst < __edgegen_bss_end; dst++) {
        *dst = 0u;
        __asm__ volatile("" ::: "memory");
    }

    /* Constructors, if any (none in C code unless __attribute__((constructor))). */
    for (ctor = __edgegen_init_array_start; ctor < __edgegen_init_array_end; ctor++) {
        (*ctor)();
    }

    edgegen_board_init();
    edgegen_board_exit(main());
}

/* Reports a fault with the stacked PC and the fault status registers, then
 * ends qemu with EDGEGEN_BOARD_EXIT_FAULT. frame is the exception stack frame
 * (r0-r3, r12, lr, pc, xpsr). "used": its only caller is the assembly
 * below, which the compiler (or LTO) cannot see. */
void edgegen_fault_report(const uint32_t *frame) __attribute__((used, noreturn));
void edgegen_fault_report(const uint32_t *frame)
{
    edgegen_board_puts("edgegen: HardFault pc=");
    edgegen_board_put_hex32(frame[6]);
    edgegen_board_puts(" lr=");
    edgegen_board_put_hex32(frame[5]);
    edgegen_board_puts(" cfsr=");
    edgegen_board_put_hex32(SCB_CFSR);
    edgegen_board_puts(" hfsr=");
    edgegen_board_put_hex32(SCB_HFSR);
    edgegen_board_puts(" mmfar=");
    edgegen_board_put_hex32(SCB_MMFAR);
    edgegen_board_puts(" bfar=");
    edgegen_board_put_hex32(SCB_BFAR);
    edgegen_board_puts("\n");
    edgegen_board_exit(EDGEGEN_BOARD_EXIT_FAULT);
}

/* Naked so that no prologue disturbs the stack: the exception frame is on
 * whichever stack EXC_RETURN bit 2 names. */
void edgegen_hardfault_handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b edgegen_fault_report\n\t");
}

void edgegen_default_handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    edgegen_board_puts("edgegen: unexpected exception ");
    edgegen_board_put_u32(ipsr & 0x1ffu);
    edgegen_board_puts("\n");
    edgegen_board_exit(EDGEGEN_BOARD_EXIT_FAULT);
}
