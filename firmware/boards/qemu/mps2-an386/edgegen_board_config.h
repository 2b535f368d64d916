/*
 * qemu mps2-an386 (Cortex-M4F) board constants, from qemu 7.2 hw/arm/mps2.c.
 * Selected by putting this directory on the include path.
 */
#ifndef EDGEGEN_BOARD_CONFIG_H
#define EDGEGEN_BOARD_CONFIG_H

#define EDGEGEN_BOARD_NAME "mps2-an386"

/* The FPGA image wires 32 external interrupts to the NVIC. */
#define EDGEGEN_BOARD_NUM_IRQS 32

/* CMSDK APB timer 0 at 0x40000000, clocked by the 25 MHz SYSCLK: under
 * -icount shift=0 one tick is 1e9 / 25e6 = 40 instructions. */
#define EDGEGEN_BOARD_COUNTER_CMSDK_TIMER 1
#define EDGEGEN_BOARD_TIMER_BASE 0x40000000u
#define EDGEGEN_BOARD_COUNTER_HZ 25000000u
#define EDGEGEN_BOARD_NS_PER_TICK_NUM 40u
#define EDGEGEN_BOARD_NS_PER_TICK_DEN 1u

/* 16 MB of PSRAM that the linker script leaves free for large buffers. */
#define EDGEGEN_BOARD_PSRAM_BASE 0x21000000u
#define EDGEGEN_BOARD_PSRAM_SIZE 0x01000000u

#endif /* EDGEGEN_BOARD_CONFIG_H */
