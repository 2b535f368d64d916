/*
 * Deterministic instruction counter for the qemu MPS2/MPS3 boards.
 *
 * Under `qemu -icount shift=0` the virtual clock advances exactly 1 ns per
 * executed guest instruction, so a hardware timer clocked from the virtual
 * clock measures instructions. The timers tick at the board's system clock
 * (25 MHz on MPS2, 32 MHz on MPS3 AN547), so one tick is 40 (MPS2) or 31.25
 * (AN547) instructions: counts are exact multiples of that granularity and
 * identical from run to run, but individual instructions are not resolved.
 * Without -icount the numbers are host-time dependent and meaningless.
 */
#ifndef EDGEGEN_COUNTER_H
#define EDGEGEN_COUNTER_H

#include <stdint.h>

#include "edgegen_board_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the free-running hardware counter (called by edgegen_board_init). */
void edgegen_counter_init(void);

/* Instructions (= virtual nanoseconds) since edgegen_counter_init, modulo 2^32.
 * Differences of two reads are valid for intervals below 2^32 instructions. */
uint32_t edgegen_counter_read(void);

/* Marks the start of a measured interval. */
void edgegen_counter_start(void);

/* Instructions since the last edgegen_counter_start. On MPS2 the 32-bit timer
 * limits intervals to 2^32 ticks (about 1.7e11 instructions); on AN547 the
 * 64-bit system counter has no practical limit. */
uint64_t edgegen_counter_elapsed(void);

/* Instructions represented by one hardware tick, as numerator/denominator. */
#define EDGEGEN_COUNTER_GRANULARITY_NUM EDGEGEN_BOARD_NS_PER_TICK_NUM
#define EDGEGEN_COUNTER_GRANULARITY_DEN EDGEGEN_BOARD_NS_PER_TICK_DEN

#ifdef __cplusplus
}
#endif

#endif /* EDGEGEN_COUNTER_H */
