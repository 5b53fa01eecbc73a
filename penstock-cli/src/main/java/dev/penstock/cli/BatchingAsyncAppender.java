package dev.penstock.cli;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.spi.AppenderAttachable;
import ch.qos.logback.core.spi.AppenderAttachableImpl;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Logback's asynchronous appender, made to write a batch at a time: the logging thread queues its
 * event and goes on; one thread takes every event waiting, hands each to the attached appenders,
 * then flushes their output once.
 *
 * <h2>Why not Logback's {@code AsyncAppender}</h2>
 *
 * <p>Its worker hands events on one by one and never says when the queue ran empty, so the appender
 * behind it must flush every line: with an access-log line per request that was one {@code write}
 * system call per request, 6% of the gateway's CPU at 16,000 requests/s on one core
 * (async-profiler). logstash-logback-encoder's disruptor appender flushes at the end of a batch,
 * but its shaded disruptor calls {@code sun.misc.Unsafe}, which JDK 25 warns about on standard
 * error at every start. This class is the small part of both that Penstock needs.
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>No line is dropped: a full queue ({@code queueSize}, default 8,192) makes the logging
 *       thread wait for room. A logging thread that is interrupted while it waits writes its event
 *       itself, under the worker's lock, rather than lose it.
 *   <li>A lone line is written at once: the batch it ends is flushed as soon as it is handed on.
 *   <li>{@link #stop} writes out every queued line (waiting at most {@code maxFlushTime}, default
 *       10 s), flushes, and stops the attached appenders.
 * </ul>
 *
 * <p>Attached appenders should not flush by themselves ({@link BufferedStderrAppender} does not).
 */
public final class BatchingAsyncAppender extends UnsynchronizedAppenderBase<ILoggingEvent>
    implements AppenderAttachable<ILoggingEvent> {
  private static final int MAX_BATCH = 1024;

  private final AppenderAttachableImpl<ILoggingEvent> appenders = new AppenderAttachableImpl<>();
  private final Object writing = new Object();
  private int queueSize = 8192;
  private long maxFlushTimeMillis = 10_000;
  private @Nullable BlockingQueue<ILoggingEvent> queue;
  private @Nullable Thread worker;

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  public void setMaxFlushTime(int millis) {
    this.maxFlushTimeMillis = millis;
  }

  @Override
  public void start() {
    if (queueSize < 1) {
      addError("queueSize must be at least 1");
      return;
    }
    BlockingQueue<ILoggingEvent> q = new ArrayBlockingQueue<>(queueSize);
    queue = q;
    worker =
        Thread.ofPlatform()
            .name("penstock-log-writer")
            .daemon()
            .start(() -> drainUntilInterrupted(q));
    super.start();
  }

  @Override
  protected void append(ILoggingEvent event) {
    BlockingQueue<ILoggingEvent> q = queue;
    if (q == null) {
      return;
    }
    event.prepareForDeferredProcessing();
    try {
      q.put(event);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      write(List.of(event)); // never lose a line
    }
  }

  private void drainUntilInterrupted(BlockingQueue<ILoggingEvent> q) {
    List<ILoggingEvent> batch = new ArrayList<>(MAX_BATCH);
    try {
      while (true) {
        batch.add(q.take());
        q.drainTo(batch, MAX_BATCH - 1);
        write(batch);
        batch.clear();
      }
    } catch (InterruptedException e) {
      // stopping: stop() writes out what is left
    }
  }

  /** Hands the events on in order, then flushes each attached appender's output once. */
  private void write(List<ILoggingEvent> batch) {
    synchronized (writing) {
      for (ILoggingEvent event : batch) {
        appenders.appendLoopOnAppenders(event);
      }
      for (Iterator<Appender<ILoggingEvent>> it = appenders.iteratorForAppenders();
          it.hasNext(); ) {
        if (it.next() instanceof OutputStreamAppender<ILoggingEvent> out && out.isStarted()) {
          flush(out.getOutputStream());
        }
      }
    }
  }

  private void flush(@Nullable OutputStream out) {
    if (out == null) {
      return;
    }
    try {
      out.flush();
    } catch (IOException e) {
      addError("could not flush a log appender", e);
    }
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop(); // no new events from here on
    Thread w = worker;
    BlockingQueue<ILoggingEvent> q = queue;
    if (w != null && q != null) {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxFlushTimeMillis);
      while (!q.isEmpty() && System.nanoTime() < deadline) {
        try {
          w.join(Math.max(1, Math.min(50, maxFlushTimeMillis))); // let the worker write them
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      w.interrupt();
      try {
        w.join(maxFlushTimeMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      List<ILoggingEvent> rest = new ArrayList<>();
      q.drainTo(rest);
      write(rest);
    }
    appenders.detachAndStopAllAppenders();
  }

  @Override
  public void addAppender(Appender<ILoggingEvent> appender) {
    appenders.addAppender(appender);
  }

  @Override
  public Iterator<Appender<ILoggingEvent>> iteratorForAppenders() {
    return appenders.iteratorForAppenders();
  }

  @Override
  public @Nullable Appender<ILoggingEvent> getAppender(String name) {
    return appenders.getAppender(name);
  }

  @Override
  public boolean isAttached(Appender<ILoggingEvent> appender) {
    return appenders.isAttached(appender);
  }

  @Override
  public void detachAndStopAllAppenders() {
    appenders.detachAndStopAllAppenders();
  }

  @Override
  public boolean detachAppender(Appender<ILoggingEvent> appender) {
    return appenders.detachAppender(appender);
  }

  @Override
  public boolean detachAppender(String name) {
    return appenders.detachAppender(name);
  }
}
