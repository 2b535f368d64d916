/*
 * Board glue for the qemu MPS2/MPS3 machines: console output and exit through
 * Arm semihosting (BKPT 0xAB), so a program needs no UART driver and qemu's
 * process exit status carries the program's result.
 *
 * Requires qemu to be started with `-semihosting-config enable=on,target=native`;
 * without it the first BKPT escalates to a HardFault.
 */
#ifndef EDGEGEN_SEMIHOST_H
#define EDGEGEN_SEMIHOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit code used by the fault handlers, distinct from the small codes tests use. */
#define EDGEGEN_BOARD_EXIT_FAULT 99

/* Enables what main() relies on besides the FPU (currently: the instruction counter).
 * The reset handler already calls it; calling it again is harmless. */
void edgegen_board_init(void);

/* Writes s verbatim to qemu's semihosting console (no newline is added). */
void edgegen_board_puts(const char *s);

/* printf-free number formatting, so applications need not link newlib's printf. */
void edgegen_board_put_i32(int32_t v);
void edgegen_board_put_u32(uint32_t v);
void edgegen_board_put_u64(uint64_t v);
void edgegen_board_put_hex32(uint32_t v); /* "0x" followed by exactly 8 hex digits */

/* Copies the program's command line as qemu reports it into buf, NUL-terminated:
 * the kernel (ELF) path first, then a space and the `-append "..."` text if one
 * was given (or the `-semihosting-config arg=...` values instead). Returns the
 * length, or -1 if the host refused (e.g. buf too small). */
int32_t edgegen_board_cmdline(char *buf, uint32_t size);

/* Ends the emulation; qemu exits with status (code & 0xff). Never returns. */
void edgegen_board_exit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* EDGEGEN_SEMIHOST_H */
