package dev.penstock.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tells the work of one request that nobody wants its answer any more — its client left, or stopped
 * reading — so that whatever it is blocked on lets go at once: a wait for capacity is withdrawn, an
 * upstream call is aborted.
 *
 * <h2>Contract</h2>
 *
 * <p>Whoever blocks on behalf of the request registers an action with {@link #onCancel} for as long
 * as it blocks and closes the registration when it stops. {@link #cancel} runs every action
 * registered at that moment, once, on the cancelling thread; an action registered after the cancel
 * runs at once, on the registering thread. Actions must be quick and must not throw; they typically
 * unpark a thread or close a socket. A signal is cancelled at most once and never reset.
 *
 * <p>Thread-safe. The lock is held only to change the list of actions, never while one runs.
 */
public final class CancelSignal {
  /** A signal that is never cancelled: for work no client can abandon (tests, health checks). */
  public static final CancelSignal NEVER = new CancelSignal();

  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock.
  private final List<Registration> actions = new ArrayList<>(2);
  private volatile boolean cancelled;
  private volatile String reason = "";

  /** A registered action; closing it unregisters the action (idempotent). */
  public final class Registration implements AutoCloseable {
    private final Runnable action;

    private Registration(Runnable action) {
      this.action = action;
    }

    @Override
    public void close() {
      lock.lock();
      try {
        actions.remove(this);
      } finally {
        lock.unlock();
      }
    }
  }

  /** Cancels the request, running the registered actions; later calls do nothing. */
  public void cancel(String why) {
    List<Registration> toRun;
    lock.lock();
    try {
      if (cancelled || this == NEVER) {
        return;
      }
      reason = why;
      cancelled = true;
      toRun = List.copyOf(actions);
      actions.clear();
    } finally {
      lock.unlock();
    }
    for (Registration r : toRun) {
      r.action.run();
    }
  }

  public boolean cancelled() {
    return cancelled;
  }

  /** Why it was cancelled ({@code client_closed}, ...), or "" while it is not. */
  public String reason() {
    return reason;
  }

  /**
   * Runs {@code action} when the request is cancelled — now, on this thread, if it already is.
   * Close the registration once the blocking it guards is over.
   */
  public Registration onCancel(Runnable action) {
    Registration registration = new Registration(action);
    if (this == NEVER) {
      return registration;
    }
    lock.lock();
    try {
      if (!cancelled) {
        actions.add(registration);
        return registration;
      }
    } finally {
      lock.unlock();
    }
    action.run();
    return registration;
  }
}
