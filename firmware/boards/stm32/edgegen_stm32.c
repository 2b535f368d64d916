/*
 * The edgegen board API (harness/edgegen_board.h) for STM32 boards, on the STM32Cube HAL.
 * Written for edgegen. SPDX-License-Identifier: Apache-2.0
 *
 * PlatformIO's stm32cube framework supplies the start-up file, SystemInit() and the HAL; this
 * file adds what the test harness needs:
 *  - clocks: the PLL fed from the internal HSI oscillator, so no board-specific crystal or
 *    solder bridge matters, at the chip's full speed for the parts edgegen knows (selected by
 *    the device macro PlatformIO defines, e.g. STM32L4R5xx); any other part stays on its reset
 *    clock, which is always safe;
 *  - console: the UART wired to the ST-LINK virtual COM port, 115200 8N1, blocking writes
 *    (edgegen_stm32_config.h, generated from the board file, names the UART, pins and AF);
 *  - counter: the DWT cycle counter, with the 1 ms HAL tick recovering whole 2^32 wraps;
 *  - start handshake: the board prints "edgegen: ready" once a second and waits for any byte
 *    before the harness runs, so a serial monitor opened after flashing never misses the
 *    start; after the verdict a byte resets the board to run again.
 */
#include <stddef.h>
#include <stdint.h>

#include "edgegen_board.h"
#include "edgegen_stm32_config.h"
#include EDGEGEN_STM32_HAL_HEADER

/* Debug registers by address (Armv7-M ARM, C1.6 and C1.8): DEMCR.TRCENA powers the DWT; the
 * Cortex-M7's DWT also has a CoreSight lock that ignores writes until the key is written. */
#define EDGEGEN_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define EDGEGEN_DEMCR_TRCENA (1u << 24)
#define EDGEGEN_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define EDGEGEN_DWT_UNLOCK 0xC5ACCE55u

/* Seconds between "ready" prompts while waiting for the host. */
#define EDGEGEN_PROMPT_MS 1000u

static UART_HandleTypeDef edgegen_uart;
static int edgegen_console_ok;
static int edgegen_initialized;
static uint32_t edgegen_start_cycles;
static uint32_t edgegen_start_ms;

/* The HAL's 1 ms time base (timeouts, HAL_Delay, the counter's wrap detection). */
void SysTick_Handler(void)
{
    HAL_IncTick();
}

/* ---------------------------------------------------------------------------------------------
 * Clocks. Every plan starts from HSI (16 MHz; 64 MHz on the H7) and keeps the VCO input and
 * output, the bus prescalers and the flash wait states inside the reference manual's limits.
 * Returns 1 when the PLL runs the core, 0 when the HAL refused (the reset clock is kept).
 * ------------------------------------------------------------------------------------------- */

#if defined(STM32F401xE)
/* 16 MHz / 16 * 336 / 4 = 84 MHz (VCO 336 MHz); APB1 <= 42 MHz; 2 wait states (RM0368 3.5.1). */
static int edgegen_clock_config(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    __HAL_RCC_PWR_CLK_ENABLE();
    __HAL_PWR_VOLTAGESCALING_CONFIG(PWR_REGULATOR_VOLTAGE_SCALE2);
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 16u;
    osc.PLL.PLLN = 336u;
    osc.PLL.PLLP = RCC_PLLP_DIV4;
    osc.PLL.PLLQ = 7u;
    if (HAL_RCC_OscConfig(&osc) != HAL_OK) {
        return 0;
    }
    clk.ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV2;
    clk.APB2CLKDivider = RCC_HCLK_DIV1;
    return HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_2) == HAL_OK;
}

#elif defined(STM32F446xx)
/* 16 MHz / 8 * 180 / 2 = 180 MHz (VCO 360 MHz) needs scale 1 and over-drive; APB1 45 MHz,
 * APB2 90 MHz; 5 wait states (RM0390 3.4.1). */
static int edgegen_clock_config(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    __HAL_RCC_PWR_CLK_ENABLE();
    __HAL_PWR_VOLTAGESCALING_CONFIG(PWR_REGULATOR_VOLTAGE_SCALE1);
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 8u;
    osc.PLL.PLLN = 180u;
    osc.PLL.PLLP = RCC_PLLP_DIV2;
    osc.PLL.PLLQ = 8u;
    osc.PLL.PLLR = 2u; /* written to the register even though SYSCLK does not use it */
    if (HAL_RCC_OscConfig(&osc) != HAL_OK || HAL_PWREx_EnableOverDrive() != HAL_OK) {
        return 0;
    }
    clk.ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV4;
    clk.APB2CLKDivider = RCC_HCLK_DIV2;
    return HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5) == HAL_OK;
}

#elif defined(STM32F746xx)
/* 16 MHz / 8 * 216 / 2 = 216 MHz (VCO 432 MHz) needs scale 1 and over-drive; APB1 54 MHz,
 * APB2 108 MHz; 7 wait states (RM0385 3.3.2). Code and weights are fetched over AXIM, so the
 * L1 caches are what make flash fast. */
static int edgegen_clock_config(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    __HAL_RCC_PWR_CLK_ENABLE();
    __HAL_PWR_VOLTAGESCALING_CONFIG(PWR_REGULATOR_VOLTAGE_SCALE1);
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 8u;
    osc.PLL.PLLN = 216u;
    osc.PLL.PLLP = RCC_PLLP_DIV2;
    osc.PLL.PLLQ = 9u;
#if defined(RCC_PLLCFGR_PLLR)
    osc.PLL.PLLR = 2u;
#endif
    if (HAL_RCC_OscConfig(&osc) != HAL_OK || HAL_PWREx_EnableOverDrive() != HAL_OK) {
        return 0;
    }
    clk.ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV4;
    clk.APB2CLKDivider = RCC_HCLK_DIV2;
    if (HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_7) != HAL_OK) {
        return 0;
    }
    SCB_EnableICache();
    SCB_EnableDCache();
    return 1;
}

#elif defined(STM32H743xx)
/* 64 MHz / 4 * 50 / 2 = 400 MHz (PLL1 input 16 MHz, VCO 800 MHz, wide range), VOS1, LDO supply
 * (the NUCLEO-H743ZI has no SMPS); AXI/AHB 200 MHz, APBs 100 MHz; 4 wait states. 400 MHz is
 * the limit of both silicon revisions; 480 MHz would need VOS0, which revision Y lacks. */
static int edgegen_clock_config(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    if (HAL_PWREx_ConfigSupply(PWR_LDO_SUPPLY) != HAL_OK) {
        return 0;
    }
    __HAL_PWR_VOLTAGESCALING_CONFIG(PWR_REGULATOR_VOLTAGE_SCALE1);
    while (!__HAL_PWR_GET_FLAG(PWR_FLAG_VOSRDY)) {
    }
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_DIV1;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 4u;
    osc.PLL.PLLN = 50u;
    osc.PLL.PLLP = 2u;
    osc.PLL.PLLQ = 4u;
    osc.PLL.PLLR = 2u;
    osc.PLL.PLLRGE = RCC_PLL1VCIRANGE_3;
    osc.PLL.PLLVCOSEL = RCC_PLL1VCOWIDE;
    osc.PLL.PLLFRACN = 0u;
    if (HAL_RCC_OscConfig(&osc) != HAL_OK) {
        return 0;
    }
    clk.ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_D1PCLK1 | RCC_CLOCKTYPE_PCLK1 |
                    RCC_CLOCKTYPE_PCLK2 | RCC_CLOCKTYPE_D3PCLK1;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.SYSCLKDivider = RCC_SYSCLK_DIV1;
    clk.AHBCLKDivider = RCC_HCLK_DIV2;
    clk.APB3CLKDivider = RCC_APB3_DIV2;
    clk.APB1CLKDivider = RCC_APB1_DIV2;
    clk.APB2CLKDivider = RCC_APB2_DIV2;
    clk.APB4CLKDivider = RCC_APB4_DIV2;
    if (HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_4) != HAL_OK) {
        return 0;
    }
    SCB_EnableICache();
    SCB_EnableDCache();
    return 1;
}

#elif defined(STM32L4R5xx)
/* 16 MHz / 2 * 30 / 2 = 120 MHz (VCO input 8 MHz, VCO 240 MHz) needs Range 1 boost mode and
 * 5 wait states (RM0432 3.3.3). Above 80 MHz the switch goes through AHB / 2 for at least 1 us
 * first (RM0432 6.2.9, "clock switching"). */
static int edgegen_clock_config(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    __HAL_RCC_PWR_CLK_ENABLE();
    if (HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1_BOOST) != HAL_OK) {
        return 0;
    }
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 2u;
    osc.PLL.PLLN = 30u;
    osc.PLL.PLLP = RCC_PLLP_DIV7;
    osc.PLL.PLLQ = RCC_PLLQ_DIV2;
    osc.PLL.PLLR = RCC_PLLR_DIV2;
    if (HAL_RCC_OscConfig(&osc) != HAL_OK) {
        return 0;
    }
    clk.ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV2;
    clk.APB1CLKDivider = RCC_HCLK_DIV1;
    clk.APB2CLKDivider = RCC_HCLK_DIV1;
    if (HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5) != HAL_OK) {
        return 0;
    }
    HAL_Delay(1);
    clk.ClockType = RCC_CLOCKTYPE_HCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    return HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5) == HAL_OK;
}

#elif defined(STM32L475xx)
/* 16 MHz / 2 * 20 / 2 = 80 MHz (VCO input 8 MHz, VCO 160 MHz), Range 1, 4 wait states
 * (RM0351 3.3.3). */
static int edgegen_clock_config(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    __HAL_RCC_PWR_CLK_ENABLE();
    if (HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1) != HAL_OK) {
        return 0;
    }
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_HSI;
    osc.PLL.PLLM = 2u;
    osc.PLL.PLLN = 20u;
    osc.PLL.PLLP = RCC_PLLP_DIV7;
    osc.PLL.PLLQ = RCC_PLLQ_DIV2;
    osc.PLL.PLLR = RCC_PLLR_DIV2;
    if (HAL_RCC_OscConfig(&osc) != HAL_OK) {
        return 0;
    }
    clk.ClockType = RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV1;
    clk.APB2CLKDivider = RCC_HCLK_DIV1;
    return HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_4) == HAL_OK;
}

#else
/* A part without a plan here: keep the reset clock (HSI or MSI), which needs no wait states. */
static int edgegen_clock_config(void)
{
    SystemCoreClockUpdate();
    return 0;
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Console
 * ------------------------------------------------------------------------------------------- */

static void edgegen_console_init(void)
{
    GPIO_InitTypeDef gpio = {0};
#if EDGEGEN_VCP_NEEDS_VDDIO2
    /* Port G sits on the separate VDDIO2 supply, which is off until enabled (RM0432 5.1.2). */
    __HAL_RCC_PWR_CLK_ENABLE();
    HAL_PWREx_EnableVddIO2();
#endif
    EDGEGEN_VCP_GPIO_CLK_ENABLE();
    EDGEGEN_VCP_UART_CLK_ENABLE();
    gpio.Pin = EDGEGEN_VCP_TX_PIN | EDGEGEN_VCP_RX_PIN;
    gpio.Mode = GPIO_MODE_AF_PP;
    gpio.Pull = GPIO_PULLUP;
    gpio.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
    gpio.Alternate = EDGEGEN_VCP_AF;
    HAL_GPIO_Init(EDGEGEN_VCP_GPIO, &gpio);

    edgegen_uart.Instance = EDGEGEN_VCP_UART;
    edgegen_uart.Init.BaudRate = EDGEGEN_VCP_BAUD;
    edgegen_uart.Init.WordLength = UART_WORDLENGTH_8B;
    edgegen_uart.Init.StopBits = UART_STOPBITS_1;
    edgegen_uart.Init.Parity = UART_PARITY_NONE;
    edgegen_uart.Init.Mode = UART_MODE_TX_RX;
    edgegen_uart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
    edgegen_uart.Init.OverSampling = UART_OVERSAMPLING_16;
    edgegen_console_ok = HAL_UART_Init(&edgegen_uart) == HAL_OK;
}

static void edgegen_write(uint8_t *bytes, uint16_t n)
{
    if (edgegen_console_ok && n > 0u) {
        (void)HAL_UART_Transmit(&edgegen_uart, bytes, n, HAL_MAX_DELAY);
    }
}

void edgegen_board_puts(const char *s)
{
    /* Copies through a small buffer: the HAL wants a non-const pointer on older families, and
     * terminals want "\r\n" where the harness writes "\n". */
    uint8_t buf[64];
    uint16_t n = 0u;
    for (; *s != '\0'; s++) {
        if (n + 2u > sizeof buf) {
            edgegen_write(buf, n);
            n = 0u;
        }
        if (*s == '\n') {
            buf[n++] = (uint8_t)'\r';
        }
        buf[n++] = (uint8_t)*s;
    }
    edgegen_write(buf, n);
}

void edgegen_board_put_u64(uint64_t v)
{
    char buf[21];
    size_t i = sizeof buf - 1u;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    edgegen_board_puts(&buf[i]);
}

void edgegen_board_put_u32(uint32_t v)
{
    edgegen_board_put_u64(v);
}

void edgegen_board_put_i32(int32_t v)
{
    if (v < 0) {
        edgegen_board_puts("-");
        /* negate in unsigned arithmetic so INT32_MIN does not overflow */
        edgegen_board_put_u64(0u - (uint32_t)v);
    } else {
        edgegen_board_put_u64((uint32_t)v);
    }
}

/* Waits until the last byte has left the shift register, so nothing is cut off by a reset. */
static void edgegen_console_flush(void)
{
    if (edgegen_console_ok) {
        while (__HAL_UART_GET_FLAG(&edgegen_uart, UART_FLAG_TC) == RESET) {
        }
    }
}

/* Prompts once a second until the host sends any byte. Bytes that arrived while the harness
 * ran (an overrun on the receiver) are drained first, so only a new byte counts. */
static void edgegen_wait_for_host(void)
{
    uint8_t byte;
    if (!edgegen_console_ok) {
        return;
    }
    __HAL_UART_CLEAR_OREFLAG(&edgegen_uart);
    while (HAL_UART_Receive(&edgegen_uart, &byte, 1u, 0u) == HAL_OK) {
    }
    for (;;) {
        edgegen_board_puts("edgegen: ready (send any byte to run)\n");
        if (HAL_UART_Receive(&edgegen_uart, &byte, 1u, EDGEGEN_PROMPT_MS) == HAL_OK) {
            return;
        }
        __HAL_UART_CLEAR_OREFLAG(&edgegen_uart);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Counter
 * ------------------------------------------------------------------------------------------- */

static void edgegen_counter_enable(void)
{
    EDGEGEN_DEMCR |= EDGEGEN_DEMCR_TRCENA;
#if defined(__CORTEX_M) && (__CORTEX_M == 7U)
    EDGEGEN_DWT_LAR = EDGEGEN_DWT_UNLOCK;
#endif
    DWT->CYCCNT = 0u;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
}

void edgegen_counter_start(void)
{
    edgegen_start_ms = HAL_GetTick();
    edgegen_start_cycles = DWT->CYCCNT;
}

uint64_t edgegen_counter_elapsed(void)
{
    /* Exact modulo 2^32; unsigned subtraction absorbs one wrap. Longer intervals (more than
     * 2^32 cycles: 10.7 s at 400 MHz) are resolved with the millisecond tick, whose error of a
     * few ms is far below the half-wrap that would pick the wrong count of wraps. */
    const uint32_t cycles = DWT->CYCCNT - edgegen_start_cycles;
    const uint32_t ms = HAL_GetTick() - edgegen_start_ms;
    const uint64_t approx = (uint64_t)ms * (SystemCoreClock / 1000u);
    uint64_t wraps = 0u;
    if (approx > cycles) {
        wraps = (approx - cycles + 0x80000000u) >> 32;
    }
    return (wraps << 32) + cycles;
}

/* ---------------------------------------------------------------------------------------------
 * Init, exit, faults
 * ------------------------------------------------------------------------------------------- */

void edgegen_board_init(void)
{
    int clock_ok;
    if (edgegen_initialized) {
        return;
    }
    HAL_Init();
    clock_ok = edgegen_clock_config();
    edgegen_console_init();
    edgegen_counter_enable();
    edgegen_initialized = 1;
    edgegen_board_puts("\nedgegen: board " EDGEGEN_STM32_BOARD_NAME " clock ");
    edgegen_board_put_u32(SystemCoreClock);
    edgegen_board_puts(clock_ok ? " hz\n" : " hz (reset clock)\n");
    edgegen_wait_for_host();
}

void edgegen_board_exit(int code)
{
    edgegen_board_puts("edgegen: exit ");
    edgegen_board_put_i32((int32_t)code);
    edgegen_board_puts("\n");
    edgegen_console_flush();
    /* Idle until asked to run again; a reset reruns the harness from the start. */
    edgegen_wait_for_host();
    edgegen_console_flush();
    NVIC_SystemReset();
    for (;;) {
    }
}

/* Every fault escalates here (the configurable fault handlers are left disabled). Reports the
 * fault status so a crash is not mistaken for a hang, then stops. */
void HardFault_Handler(void)
{
    edgegen_board_puts("edgegen: fault hardfault cfsr ");
    edgegen_board_put_u32(SCB->CFSR);
    edgegen_board_puts(" hfsr ");
    edgegen_board_put_u32(SCB->HFSR);
    edgegen_board_puts("\n");
    edgegen_console_flush();
    for (;;) {
    }
}
