package dev.penstock.core.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WaitQueueTest {
  record Entry(String name, Priority priority, String tenant) implements QueueEntry {}

  private static List<String> drain(WaitQueue<Entry> queue) {
    List<String> order = new ArrayList<>();
    for (Entry e = queue.poll(); e != null; e = queue.poll()) {
      order.add(e.name());
    }
    return order;
  }

  @Test
  void higherPriorityFirstThenTenantsTakeTurnsThenArrivalOrder() {
    WaitQueue<Entry> queue = new WaitQueue<>();
    queue.add(new Entry("a1", Priority.NORMAL, "a"));
    queue.add(new Entry("a2", Priority.NORMAL, "a"));
    queue.add(new Entry("a3", Priority.NORMAL, "a"));
    queue.add(new Entry("b1", Priority.NORMAL, "b"));
    queue.add(new Entry("low", Priority.LOW, "a"));
    queue.add(new Entry("high", Priority.HIGH, "b"));
    queue.add(new Entry("b2", Priority.NORMAL, "b"));

    assertThat(queue.size()).isEqualTo(7);
    assertThat(drain(queue)).containsExactly("high", "a1", "b1", "a2", "b2", "a3", "low");
    assertThat(queue.isEmpty()).isTrue();
  }

  @Test
  void aRequeuedEntryKeepsItsPlace() {
    WaitQueue<Entry> queue = new WaitQueue<>();
    queue.add(new Entry("a2", Priority.NORMAL, "a"));
    queue.add(new Entry("b1", Priority.NORMAL, "b"));
    queue.addFirst(new Entry("a1", Priority.NORMAL, "a"));
    assertThat(drain(queue)).containsExactly("a1", "b1", "a2");
  }

  @Test
  void removingAnEntryKeepsTheRest() {
    WaitQueue<Entry> queue = new WaitQueue<>();
    Entry a1 = new Entry("a1", Priority.NORMAL, "a");
    Entry b1 = new Entry("b1", Priority.NORMAL, "b");
    queue.add(a1);
    queue.add(b1);
    queue.add(new Entry("b2", Priority.NORMAL, "b"));
    assertThat(queue.remove(a1)).isTrue();
    assertThat(queue.remove(a1)).isFalse();
    assertThat(queue.size()).isEqualTo(2);
    assertThat(drain(queue)).containsExactly("b1", "b2");
  }

  @Test
  void countsWhatWouldBeServedAheadOfANewcomer() {
    WaitQueue<Entry> queue = new WaitQueue<>();
    for (int i = 0; i < 5; i++) {
      queue.add(new Entry("a" + i, Priority.NORMAL, "heavy"));
    }
    queue.add(new Entry("h", Priority.HIGH, "x"));
    queue.add(new Entry("l", Priority.LOW, "x"));
    // A light tenant's first request waits for the high one and one turn of the heavy tenant.
    assertThat(queue.ahead(Priority.NORMAL, "light")).isEqualTo(2);
    // The heavy tenant's next one waits behind its own five.
    assertThat(queue.ahead(Priority.NORMAL, "heavy")).isEqualTo(6);
    assertThat(queue.ahead(Priority.HIGH, "y")).isEqualTo(1);
    assertThat(queue.ahead(Priority.LOW, "y")).isEqualTo(7);
  }
}
