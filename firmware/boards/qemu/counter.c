/*
 * Instruction counter (see counter.h). The hardware differs per machine:
 *  - MPS2 AN386/AN500: CMSDK APB timer 0, a 32-bit down-counter at SYSCLK.
 *  - MPS3 AN547: the SSE-300 System Counter, a 64-bit up-counter at MAINCLK;
 *    the board has no CMSDK timer on the fast clock.
 * edgegen_board_config.h (one per machine directory) selects it.
 */
#include "counter.h"

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* Converts a tick count to instructions; one tick is NUM/DEN virtual ns. */
static uint64_t ticks_to_instructions(uint64_t ticks)
{
    return ticks * EDGEGEN_BOARD_NS_PER_TICK_NUM / EDGEGEN_BOARD_NS_PER_TICK_DEN;
}

#if defined(EDGEGEN_BOARD_COUNTER_CMSDK_TIMER)

/* CMSDK APB timer registers (Arm CMSDK TRM): CTRL bit 0 enables counting,
 * VALUE decrements once per PCLK and reloads from RELOAD after reaching 0. */
#define TIMER_CTRL (EDGEGEN_BOARD_TIMER_BASE + 0x0u)
#define TIMER_VALUE (EDGEGEN_BOARD_TIMER_BASE + 0x4u)
#define TIMER_RELOAD (EDGEGEN_BOARD_TIMER_BASE + 0x8u)

static uint32_t start_ticks;

void edgegen_counter_init(void)
{
    /* Only program the timer once, so a second board_init does not restart
     * time under a running measurement. */
    if ((REG32(TIMER_CTRL) & 1u) == 0u) {
        REG32(TIMER_RELOAD) = 0xffffffffu;
        REG32(TIMER_VALUE) = 0xffffffffu;
        REG32(TIMER_CTRL) = 1u; /* enable, no interrupt, internal clock */
    }
}

/* Ticks elapsed since init, as an up-count: the hardware counts down. */
static uint32_t read_ticks(void)
{
    return 0xffffffffu - REG32(TIMER_VALUE);
}

uint32_t edgegen_counter_read(void)
{
    /* ticks * NUM mod 2^32 stays consistent across the 32-bit wrap only for
     * integer ticks-per-instruction ratios, which MPS2 has (40/1). */
    return read_ticks() * (uint32_t)EDGEGEN_BOARD_NS_PER_TICK_NUM;
}

void edgegen_counter_start(void)
{
    start_ticks = read_ticks();
}

uint64_t edgegen_counter_elapsed(void)
{
    /* Unsigned subtraction absorbs one wrap of the 32-bit counter. */
    uint32_t ticks = read_ticks() - start_ticks;
    return ticks_to_instructions(ticks);
}

#elif defined(EDGEGEN_BOARD_COUNTER_SSE_SYSCOUNTER)

/* SSE-300 System Counter control frame (Secure): CNTCR bit 0 enables it,
 * CNTCV is the 64-bit count, split into two 32-bit registers. */
#define CNT_CNTCR (EDGEGEN_BOARD_SYSCOUNTER_BASE + 0x0u)
#define CNT_CNTCV_LO (EDGEGEN_BOARD_SYSCOUNTER_BASE + 0x8u)
#define CNT_CNTCV_HI (EDGEGEN_BOARD_SYSCOUNTER_BASE + 0xcu)

static uint64_t start_ticks;

void edgegen_counter_init(void)
{
    /* The counter resets disabled; it is never restarted once running. */
    if ((REG32(CNT_CNTCR) & 1u) == 0u) {
        REG32(CNT_CNTCR) = 1u; /* EN, scaling off: one count per MAINCLK tick */
    }
}

/* The two halves are separate reads, so re-read the high word until it is
 * stable to avoid a torn value when the low word carries between them. */
static uint64_t read_ticks(void)
{
    uint32_t hi;
    uint32_t lo;
    do {
        hi = REG32(CNT_CNTCV_HI);
        lo = REG32(CNT_CNTCV_LO);
    } while (REG32(CNT_CNTCV_HI) != hi);
    return ((uint64_t)hi << 32) | lo;
}

uint32_t edgegen_counter_read(void)
{
    return (uint32_t)ticks_to_instructions(read_ticks());
}

void edgegen_counter_start(void)
{
    start_ticks = read_ticks();
}

uint64_t edgegen_counter_elapsed(void)
{
    /* Convert the difference, not each endpoint, so the fractional
     * ticks-per-instruction ratio rounds once. */
    return ticks_to_instructions(read_ticks() - start_ticks);
}

#else
#error "edgegen_board_config.h must select EDGEGEN_BOARD_COUNTER_CMSDK_TIMER or EDGEGEN_BOARD_COUNTER_SSE_SYSCOUNTER"
#endif
