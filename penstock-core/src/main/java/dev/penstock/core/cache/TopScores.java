package dev.penstock.core.cache;

import java.util.Arrays;

/**
 * The best {@code capacity} entries offered, highest score first; among equal scores the one
 * offered first stays ahead. Not thread-safe: one per lookup.
 */
final class TopScores {
  private final Entry[] entries;
  private final float[] scores;
  private int count;

  TopScores(int capacity) {
    entries = new Entry[capacity];
    scores = new float[capacity];
  }

  void offer(Entry entry, float score) {
    if (count == entries.length && score <= scores[count - 1]) {
      return;
    }
    int i = count == entries.length ? count - 1 : count++;
    while (i > 0 && scores[i - 1] < score) {
      entries[i] = entries[i - 1];
      scores[i] = scores[i - 1];
      i--;
    }
    entries[i] = entry;
    scores[i] = score;
  }

  int count() {
    return count;
  }

  Entry entry(int rank) {
    return entries[rank];
  }

  float score(int rank) {
    return scores[rank];
  }

  @Override
  public String toString() {
    return Arrays.toString(Arrays.copyOf(scores, count));
  }
}
