package dev.penstock.server.batch;

import java.util.List;

/**
 * One page of a list, as OpenAI pages them: the items and whether more follow.
 *
 * @param data the items, newest first
 * @param hasMore whether a request with {@code after} = the last item's id finds more
 */
public record Page<T>(List<T> data, boolean hasMore) {
  public Page {
    data = List.copyOf(data);
  }

  /** The page of {@code limit} items out of {@code fetched}, which holds up to one more. */
  static <T> Page<T> of(List<T> fetched, int limit) {
    return fetched.size() > limit
        ? new Page<>(fetched.subList(0, limit), true)
        : new Page<>(fetched, false);
  }
}
