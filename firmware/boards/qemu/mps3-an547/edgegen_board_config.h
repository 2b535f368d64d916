/*
 * qemu mps3-an547 (Cortex-M55 with MVE and FPU, SSE-300 subsystem) board
 * constants, from qemu 7.2 hw/arm/mps2-tz.c and hw/arm/armsse.c.
 * Selected by putting this directory on the include path.
 */
#ifndef EDGEGEN_BOARD_CONFIG_H
#define EDGEGEN_BOARD_CONFIG_H

#define EDGEGEN_BOARD_NAME "mps3-an547"

/* The AN547 wires 96 external interrupts to the NVIC. */
#define EDGEGEN_BOARD_NUM_IRQS 96

/* SSE-300 System Counter, control frame at 0x58100000 (Secure; the core boots
 * Secure), counting the 32 MHz MAINCLK: under -icount shift=0 one tick is
 * 1e9 / 32e6 = 31.25 = 125/4 instructions. */
#define EDGEGEN_BOARD_COUNTER_SSE_SYSCOUNTER 1
#define EDGEGEN_BOARD_SYSCOUNTER_BASE 0x58100000u
#define EDGEGEN_BOARD_COUNTER_HZ 32000000u
#define EDGEGEN_BOARD_NS_PER_TICK_NUM 125u
#define EDGEGEN_BOARD_NS_PER_TICK_DEN 4u

/* 512 KB DTCM that the linker script leaves free for buffers. */
#define EDGEGEN_BOARD_DTCM_BASE 0x20000000u
#define EDGEGEN_BOARD_DTCM_SIZE 0x00080000u

#endif /* EDGEGEN_BOARD_CONFIG_H */
