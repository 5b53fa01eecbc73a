package dev.penstock.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class FaultRatesTest {
  @Test
  void kindsOccupyConsecutiveSlicesInDeclarationOrder() {
    FaultRates rates = new FaultRates(Map.of(FaultKind.RESET, 0.2, FaultKind.ERROR_500, 0.1));
    assertThat(rates.pick(0.0)).isEqualTo(FaultKind.ERROR_500);
    assertThat(rates.pick(0.0999)).isEqualTo(FaultKind.ERROR_500);
    assertThat(rates.pick(0.1)).isEqualTo(FaultKind.RESET);
    assertThat(rates.pick(0.2999)).isEqualTo(FaultKind.RESET);
    assertThat(rates.pick(0.3001)).isNull();
    assertThat(FaultRates.NONE.pick(0.0)).isNull();
  }

  @Test
  void aKeysRatesOverrideTheGlobalOnesKindByKind() {
    FaultRates global = new FaultRates(Map.of(FaultKind.ERROR_500, 0.5, FaultKind.HANG, 0.1));
    FaultRates key = new FaultRates(Map.of(FaultKind.ERROR_500, 0.0, FaultKind.CUT, 0.3));
    assertThat(global.overriddenBy(key).rates())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(FaultKind.ERROR_500, 0.0, FaultKind.HANG, 0.1, FaultKind.CUT, 0.3));
    assertThat(global.overriddenBy(FaultRates.NONE)).isSameAs(global);
  }

  @Test
  void rejectsRatesOutsideZeroToOneOrAddingUpToMoreThanOne() {
    assertThatThrownBy(() -> new FaultRates(Map.of(FaultKind.ERROR_500, 1.5)))
        .hasMessageContaining("within 0..1");
    assertThatThrownBy(() -> new FaultRates(Map.of(FaultKind.ERROR_500, 0.6, FaultKind.RESET, 0.6)))
        .hasMessageContaining("more than 1");
    assertThatThrownBy(() -> FaultKind.fromWireName("explode")).hasMessageContaining("known: 500");
  }
}
