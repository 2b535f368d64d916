/*
 * A stand-in for the STM32Cube HAL, CMSIS device and CMSIS core headers, just enough for
 * tests/test_firmware_c.py to compile firmware/boards/stm32/edgegen_stm32.c with the warning
 * flags firmware/ is held to, where no HAL is installed. Declarations, field types and the
 * shapes of the macros the glue expands follow STM32CubeL4/F4/F7/H7 (HAL function prototypes,
 * uint32_t init fields, uint16_t GPIO pins, uint8_t alternate functions, volatile uint32_t
 * registers), so a conversion the glue makes with the real headers is one it makes here too.
 * The values are arbitrary: nothing is linked or run.
 */
#ifndef EDGEGEN_STM32_HAL_STUB_H
#define EDGEGEN_STM32_HAL_STUB_H

#include <stdint.h>

/* ---- CMSIS core ---- */
#define __IO volatile
typedef struct
{
    __IO uint32_t CTRL;
    __IO uint32_t CYCCNT;
} DWT_Type;
typedef struct
{
    __IO uint32_t CFSR;
    __IO uint32_t HFSR;
} SCB_Type;
extern DWT_Type edgegen_stub_dwt;
extern SCB_Type edgegen_stub_scb;
#define DWT (&edgegen_stub_dwt)
#define SCB (&edgegen_stub_scb)
#define DWT_CTRL_CYCCNTENA_Msk (1UL /* << DWT_CTRL_CYCCNTENA_Pos */)
#if defined(STM32F746xx) || defined(STM32H743xx)
#define __CORTEX_M (7U)
#else
#define __CORTEX_M (4U)
#endif
void NVIC_SystemReset(void);
void SCB_EnableICache(void);
void SCB_EnableDCache(void);
extern uint32_t SystemCoreClock;
void SystemCoreClockUpdate(void);

/* ---- HAL definitions ---- */
typedef enum
{
    HAL_OK = 0x00U,
    HAL_ERROR = 0x01U,
    HAL_BUSY = 0x02U,
    HAL_TIMEOUT = 0x03U
} HAL_StatusTypeDef;
typedef enum
{
    RESET = 0U,
    SET = !RESET
} FlagStatus;
#define HAL_MAX_DELAY 0xFFFFFFFFU
HAL_StatusTypeDef HAL_Init(void);
void HAL_IncTick(void);
uint32_t HAL_GetTick(void);
void HAL_Delay(uint32_t Delay);

/* ---- RCC, PWR, FLASH ---- */
typedef struct
{
    uint32_t PLLState;
    uint32_t PLLSource;
    uint32_t PLLM;
    uint32_t PLLN;
    uint32_t PLLP;
    uint32_t PLLQ;
    uint32_t PLLR;
    uint32_t PLLRGE;
    uint32_t PLLVCOSEL;
    uint32_t PLLFRACN;
} RCC_PLLInitTypeDef;
typedef struct
{
    uint32_t OscillatorType;
    uint32_t HSIState;
    uint32_t HSICalibrationValue;
    RCC_PLLInitTypeDef PLL;
} RCC_OscInitTypeDef;
typedef struct
{
    uint32_t ClockType;
    uint32_t SYSCLKSource;
    uint32_t SYSCLKDivider;
    uint32_t AHBCLKDivider;
    uint32_t APB1CLKDivider;
    uint32_t APB2CLKDivider;
    uint32_t APB3CLKDivider;
    uint32_t APB4CLKDivider;
} RCC_ClkInitTypeDef;
HAL_StatusTypeDef HAL_RCC_OscConfig(RCC_OscInitTypeDef *RCC_OscInitStruct);
HAL_StatusTypeDef HAL_RCC_ClockConfig(RCC_ClkInitTypeDef *RCC_ClkInitStruct, uint32_t FLatency);
HAL_StatusTypeDef HAL_PWREx_EnableOverDrive(void);
HAL_StatusTypeDef HAL_PWREx_ControlVoltageScaling(uint32_t VoltageScaling);
HAL_StatusTypeDef HAL_PWREx_ConfigSupply(uint32_t SupplySource);
void HAL_PWREx_EnableVddIO2(void);

extern __IO uint32_t edgegen_stub_reg;
/* the HAL's clock-enable macros: set a bit, then read it back (a delay after enabling) */
#define EDGEGEN_STUB_CLK_ENABLE(bit)                                                                                   \
    do                                                                                                                 \
    {                                                                                                                  \
        __IO uint32_t tmpreg;                                                                                          \
        edgegen_stub_reg |= (1UL << (bit));                                                                            \
        tmpreg = edgegen_stub_reg & (1UL << (bit));                                                                    \
        (void)tmpreg;                                                                                                  \
    } while (0U)
#define __HAL_RCC_PWR_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(28U)
#define __HAL_PWR_VOLTAGESCALING_CONFIG(__REGULATOR__)                                                                 \
    do                                                                                                                 \
    {                                                                                                                  \
        __IO uint32_t tmpreg = 0x00U;                                                                                  \
        edgegen_stub_reg = (edgegen_stub_reg & ~(3UL << 14)) | (__REGULATOR__);                                        \
        tmpreg = edgegen_stub_reg & (3UL << 14);                                                                       \
        (void)tmpreg;                                                                                                  \
    } while (0)
#define __HAL_PWR_GET_FLAG(__FLAG__) ((edgegen_stub_reg & (__FLAG__)) == (__FLAG__))

#define RCC_OSCILLATORTYPE_HSI 0x00000002U
#define RCC_HSI_ON (1UL << 8)
#define RCC_HSI_DIV1 (1UL << 0)
#define RCC_HSICALIBRATION_DEFAULT 0x10U
#define RCC_PLL_ON 0x00000002U
#define RCC_PLLSOURCE_HSI 0x00000002U
#define RCC_PLLP_DIV2 0x00000002U
#define RCC_PLLP_DIV4 0x00000004U
#define RCC_PLLP_DIV7 0x00000007U
#define RCC_PLLQ_DIV2 0x00000002U
#define RCC_PLLR_DIV2 0x00000002U
#define RCC_PLL1VCIRANGE_3 (3UL << 2)
#define RCC_PLL1VCOWIDE 0x00000000U
#define RCC_CLOCKTYPE_SYSCLK 0x00000001U
#define RCC_CLOCKTYPE_HCLK 0x00000002U
#define RCC_CLOCKTYPE_PCLK1 0x00000004U
#define RCC_CLOCKTYPE_PCLK2 0x00000008U
#define RCC_CLOCKTYPE_D1PCLK1 0x00000010U
#define RCC_CLOCKTYPE_D3PCLK1 0x00000020U
#define RCC_SYSCLKSOURCE_PLLCLK (3UL << 0)
#define RCC_SYSCLK_DIV1 0x00000000U
#define RCC_SYSCLK_DIV2 (8UL << 4)
#define RCC_HCLK_DIV1 0x00000000U
#define RCC_HCLK_DIV2 (4UL << 8)
#define RCC_HCLK_DIV4 (5UL << 8)
#define RCC_APB1_DIV2 (4UL << 4)
#define RCC_APB2_DIV2 (4UL << 8)
#define RCC_APB3_DIV2 (4UL << 4)
#define RCC_APB4_DIV2 (4UL << 4)
#define PWR_REGULATOR_VOLTAGE_SCALE1 (3UL << 14)
#define PWR_REGULATOR_VOLTAGE_SCALE1_BOOST (1UL << 9)
#define PWR_REGULATOR_VOLTAGE_SCALE2 (2UL << 14)
#define PWR_LDO_SUPPLY (1UL << 1)
#define PWR_FLAG_VOSRDY (1UL << 13)
#define FLASH_LATENCY_2 (2UL)
#define FLASH_LATENCY_4 (4UL)
#define FLASH_LATENCY_5 (5UL)
#define FLASH_LATENCY_7 (7UL)
#if defined(STM32F746xx)
#define RCC_PLLCFGR_PLLR (7UL << 28) /* present on some F7 parts, tested by the glue */
#endif

/* ---- GPIO ---- */
typedef struct
{
    __IO uint32_t MODER;
} GPIO_TypeDef;
typedef struct
{
    uint32_t Pin;
    uint32_t Mode;
    uint32_t Pull;
    uint32_t Speed;
    uint32_t Alternate;
} GPIO_InitTypeDef;
void HAL_GPIO_Init(GPIO_TypeDef *GPIOx, GPIO_InitTypeDef *GPIO_Init);
extern GPIO_TypeDef edgegen_stub_gpio[7];
#define GPIOA (&edgegen_stub_gpio[0])
#define GPIOB (&edgegen_stub_gpio[1])
#define GPIOC (&edgegen_stub_gpio[2])
#define GPIOD (&edgegen_stub_gpio[3])
#define GPIOE (&edgegen_stub_gpio[4])
#define GPIOF (&edgegen_stub_gpio[5])
#define GPIOG (&edgegen_stub_gpio[6])
#define __HAL_RCC_GPIOA_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(0U)
#define __HAL_RCC_GPIOB_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(1U)
#define __HAL_RCC_GPIOC_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(2U)
#define __HAL_RCC_GPIOD_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(3U)
#define __HAL_RCC_GPIOE_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(4U)
#define __HAL_RCC_GPIOF_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(5U)
#define __HAL_RCC_GPIOG_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(6U)
#define GPIO_PIN_0 ((uint16_t)0x0001)
#define GPIO_PIN_1 ((uint16_t)0x0002)
#define GPIO_PIN_2 ((uint16_t)0x0004)
#define GPIO_PIN_3 ((uint16_t)0x0008)
#define GPIO_PIN_4 ((uint16_t)0x0010)
#define GPIO_PIN_5 ((uint16_t)0x0020)
#define GPIO_PIN_6 ((uint16_t)0x0040)
#define GPIO_PIN_7 ((uint16_t)0x0080)
#define GPIO_PIN_8 ((uint16_t)0x0100)
#define GPIO_PIN_9 ((uint16_t)0x0200)
#define GPIO_PIN_10 ((uint16_t)0x0400)
#define GPIO_PIN_11 ((uint16_t)0x0800)
#define GPIO_PIN_12 ((uint16_t)0x1000)
#define GPIO_PIN_13 ((uint16_t)0x2000)
#define GPIO_PIN_14 ((uint16_t)0x4000)
#define GPIO_PIN_15 ((uint16_t)0x8000)
#define GPIO_MODE_AF_PP 0x00000002U
#define GPIO_PULLUP 0x00000001U
#define GPIO_SPEED_FREQ_VERY_HIGH 0x00000003U
#define GPIO_AF7_USART1 ((uint8_t)0x07)
#define GPIO_AF7_USART2 ((uint8_t)0x07)
#define GPIO_AF7_USART3 ((uint8_t)0x07)
#define GPIO_AF8_LPUART1 ((uint8_t)0x08)

/* ---- UART ---- */
typedef struct
{
    __IO uint32_t ISR;
    __IO uint32_t ICR;
} USART_TypeDef;
typedef struct
{
    uint32_t BaudRate;
    uint32_t WordLength;
    uint32_t StopBits;
    uint32_t Parity;
    uint32_t Mode;
    uint32_t HwFlowCtl;
    uint32_t OverSampling;
} UART_InitTypeDef;
typedef struct
{
    USART_TypeDef *Instance;
    UART_InitTypeDef Init;
} UART_HandleTypeDef;
HAL_StatusTypeDef HAL_UART_Init(UART_HandleTypeDef *huart);
HAL_StatusTypeDef HAL_UART_Transmit(UART_HandleTypeDef *huart, const uint8_t *pData, uint16_t Size, uint32_t Timeout);
HAL_StatusTypeDef HAL_UART_Receive(UART_HandleTypeDef *huart, uint8_t *pData, uint16_t Size, uint32_t Timeout);
extern USART_TypeDef edgegen_stub_uart[4];
#define USART1 (&edgegen_stub_uart[0])
#define USART2 (&edgegen_stub_uart[1])
#define USART3 (&edgegen_stub_uart[2])
#define LPUART1 (&edgegen_stub_uart[3])
#define __HAL_RCC_USART1_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(14U)
#define __HAL_RCC_USART2_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(17U)
#define __HAL_RCC_USART3_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(18U)
#define __HAL_RCC_LPUART1_CLK_ENABLE() EDGEGEN_STUB_CLK_ENABLE(0U)
#define UART_WORDLENGTH_8B 0x00000000U
#define UART_STOPBITS_1 0x00000000U
#define UART_PARITY_NONE 0x00000000U
#define UART_MODE_TX_RX 0x0000000CU
#define UART_HWCONTROL_NONE 0x00000000U
#define UART_OVERSAMPLING_16 0x00000000U
#define UART_FLAG_TC (1UL << 6)
#define UART_CLEAR_OREF (1UL << 3)
#define __HAL_UART_GET_FLAG(__HANDLE__, __FLAG__) (((__HANDLE__)->Instance->ISR & (__FLAG__)) == (__FLAG__))
#define __HAL_UART_CLEAR_FLAG(__HANDLE__, __FLAG__) ((__HANDLE__)->Instance->ICR = (__FLAG__))
#define __HAL_UART_CLEAR_OREFLAG(__HANDLE__) __HAL_UART_CLEAR_FLAG((__HANDLE__), UART_CLEAR_OREF)

#endif /* EDGEGEN_STM32_HAL_STUB_H */
