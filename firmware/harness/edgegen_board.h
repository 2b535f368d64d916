/*
 * What the edgegen test harness needs from a board: a console, an exit, and a counter.
 *
 * qemu boards implement it with semihosting and a timer under -icount (firmware/boards/qemu:
 * counts are instructions); STM32 boards with a HAL UART and the DWT cycle counter
 * (firmware/boards/stm32: counts are core cycles). Written for edgegen.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef EDGEGEN_BOARD_H
#define EDGEGEN_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, console and counter; safe to call more than once. */
void edgegen_board_init(void);

/* Writes s verbatim to the console (no newline added). */
void edgegen_board_puts(const char *s);
void edgegen_board_put_i32(int32_t v);
void edgegen_board_put_u32(uint32_t v);
void edgegen_board_put_u64(uint64_t v);

/* Ends the program with an exit code (qemu: the process status; boards: stop and idle). */
void edgegen_board_exit(int code) __attribute__((noreturn));

/* Marks the start of a measured interval; elapsed returns the count since (instructions on
 * qemu, cycles on hardware). */
void edgegen_counter_start(void);
uint64_t edgegen_counter_elapsed(void);

#ifdef __cplusplus
}
#endif

#endif /* EDGEGEN_BOARD_H */
