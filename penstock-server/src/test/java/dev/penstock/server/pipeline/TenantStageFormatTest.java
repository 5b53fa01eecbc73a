package dev.penstock.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How the tenant stage writes amounts and waits in its answers. */
class TenantStageFormatTest {
  @Test
  void dollarsShowCentsOrTheDigitsASmallAmountNeeds() {
    assertThat(TenantStage.usd(5)).isEqualTo("5.00");
    assertThat(TenantStage.usd(12.345)).isEqualTo("12.35");
    assertThat(TenantStage.usd(0)).isEqualTo("0.00");
    assertThat(TenantStage.usd(0.001)).isEqualTo("0.001");
    assertThat(TenantStage.usd(0.000123456)).isEqualTo("0.00012");
  }

  @Test
  void durationsAreWrittenAsOpenAiWritesThem() {
    assertThat(TenantStage.duration(0)).isEqualTo("0ms");
    assertThat(TenantStage.duration(120_000_000)).isEqualTo("120ms");
    assertThat(TenantStage.duration(1_500_000_000)).isEqualTo("1.5s");
    assertThat(TenantStage.duration(60_000_000_000L)).isEqualTo("1m0s");
    assertThat(TenantStage.duration(62_250_000_000L)).isEqualTo("1m2.25s");
  }
}
