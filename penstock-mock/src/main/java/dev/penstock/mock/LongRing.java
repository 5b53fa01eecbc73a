package dev.penstock.mock;

/**
 * A growable FIFO of primitive longs (a ring buffer), so that a window of a hundred thousand
 * timestamps costs 800 KB rather than boxed {@code Long}s. Not thread-safe: callers hold their own
 * lock.
 */
final class LongRing {
  private long[] items = new long[16];
  private int head;
  private int size;

  void addLast(long value) {
    if (size == items.length) {
      grow();
    }
    items[(head + size) & (items.length - 1)] = value;
    size++;
  }

  long first() {
    if (size == 0) {
      throw new IllegalStateException("empty");
    }
    return items[head];
  }

  long last() {
    if (size == 0) {
      throw new IllegalStateException("empty");
    }
    return items[(head + size - 1) & (items.length - 1)];
  }

  /** The i-th oldest value, 0 being the oldest. */
  long get(int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException(index);
    }
    return items[(head + index) & (items.length - 1)];
  }

  long removeFirst() {
    long value = first();
    head = (head + 1) & (items.length - 1);
    size--;
    return value;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  void clear() {
    head = 0;
    size = 0;
  }

  private void grow() {
    // Capacity stays a power of two so that masking replaces the modulo.
    long[] bigger = new long[items.length * 2];
    for (int i = 0; i < size; i++) {
      bigger[i] = items[(head + i) & (items.length - 1)];
    }
    items = bigger;
    head = 0;
  }
}
